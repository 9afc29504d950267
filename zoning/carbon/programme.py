"""Sink gains of the forest-quality programme (森林质量精准提升, 30,000 ha) and the buy-back
of commercial forest in key ecological locations (商品林赎买, 16,700 ha).

Additional sink in year t:  ΔS_t = Σ_cohorts A_c · (r_target − r_base) · g(t − t_c)   [t CO2/yr]
with A_c the area treated in year t_c (ha), r in t CO2/ha/yr, and g(τ) = 1 for τ ≥ 0 (a cohort
counts from its treatment year), or, with a saturating curve, 1 for τ < plateau and
exp(−(τ − plateau)/T) after. Central values use exact decimal arithmetic, so the full-area
checks hold to the digit: 30,000 × (2.77 − 1.97) = 24,000 and 30,000 × (3.86 − 1.97) = 56,700.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from zoning.errors import ZoningError, ProgramError

SEED_DOC = "南平市减污降碳协同增效实施方案（征求意见稿）"
R_BASE = 1.97
SCENARIOS = {"2.77": "福建省平均 Fujian mean", "3.86": "全国平均 national mean"}
TARGET_HA = 30_000.0
BUYBACK_HA = 16_700.0
EMISSIONS_2020_TCO2 = 10_750_000.0  # 1075 万吨, seed document 一、（一）
DEFAULT_SCHEDULE = {2021: 6000.0, 2022: 6000.0, 2023: 6000.0, 2024: 6000.0, 2025: 6000.0}
REPORT_YEARS = (2025, 2030, 2060)



@dataclass(frozen=True)
class Parameter:
    name: str
    value: float
    unit: str
    distribution: str
    sd: float  # absolute standard deviation (0 = fixed)
    source: str

    def record(self) -> dict:
        return {"name": self.name, "value": self.value, "unit": self.unit, "distribution": self.distribution,
                "sd": self.sd, "source": self.source}


def default_parameters(r_target: float, *, rel_sd: float = 0.10, area_sd: float = 0.05) -> list[Parameter]:
    """The parameter table: every default value with its unit, distribution and source."""
    src_rate = f"{SEED_DOC} 一、（二）"
    assumption = ("zoning default uncertainty (assumed; replace with the forest inventory's own); "
                  "rates treated as independent")
    scen = SCENARIOS.get(f"{r_target:.2f}", "user value")
    return [
        Parameter("r_base", R_BASE, "t CO2/ha/yr", "normal", round(R_BASE * rel_sd, 6),
                  f"Nanping biomass sink, {src_rate}; sd: {assumption}"),
        Parameter("r_target", r_target, "t CO2/ha/yr", "normal", round(r_target * rel_sd, 6),
                  (f"{scen}, {src_rate}" if scen != "user value" else "user scenario") + f"; sd: {assumption}"),
        Parameter("area_achieved", 1.0, "share of scheduled area", "normal", area_sd,
                  "share of the scheduled area actually treated; zoning default 1.0 ± 0.05 (assumed)"),
        Parameter("emissions_2020", EMISSIONS_2020_TCO2, "t CO2", "fixed", 0.0, f"{SEED_DOC} 一、（一）: 1075 万吨"),
    ]


def read_schedule(path: Path | str | None) -> dict[int, float]:
    """Treated area per year (ha): CSV with columns year, area_ha; default 6,000 ha/yr 2021-2025."""
    if path is None:
        return dict(DEFAULT_SCHEDULE)
    path = Path(path)
    if not path.exists():
        raise ProgramError(f"进度表不存在：{path}", f"schedule file not found: {path}")
    try:
        df = pd.read_csv(path, encoding="utf-8-sig")
    except Exception as exc:
        raise ProgramError(f"无法读取进度表 {path}：{exc}", f"cannot read schedule {path}: {exc}") from None
    cols = {c.strip().lower(): c for c in df.columns}
    if "year" not in cols or "area_ha" not in cols:
        raise ProgramError(f"进度表 {path.name} 需要 year、area_ha 两列", f"schedule {path.name} needs columns year, area_ha")
    out: dict[int, float] = {}
    for y, a in zip(df[cols["year"]], df[cols["area_ha"]]):
        try:
            year, area = int(y), float(a)
        except (TypeError, ValueError):
            raise ProgramError(f"进度表 {path.name} 中有非数字：{y}, {a}", f"schedule {path.name}: not numbers: {y}, {a}") from None
        if area < 0 or not math.isfinite(area):
            raise ProgramError(f"进度表面积不能为负：{year}", f"schedule area must be >= 0 (year {year})")
        out[year] = out.get(year, 0.0) + area
    if not out:
        raise ProgramError(f"进度表 {path.name} 为空", f"schedule {path.name} is empty")
    return dict(sorted(out.items()))


def response(tau: np.ndarray, *, plateau_years: float | None = None, saturation_years: float | None = None) -> np.ndarray:
    """g(τ): 0 before treatment, 1 from the treatment year on; optionally decaying after a plateau."""
    tau = np.asarray(tau, dtype="float64")
    g = (tau >= 0).astype("float64")
    if saturation_years:
        plateau = plateau_years or 0.0
        late = tau > plateau
        g[late] = np.exp(-(tau[late] - plateau) / saturation_years)
    return g


def effective_area(schedule: dict[int, float], years: np.ndarray, **curve) -> np.ndarray:
    """Σ_c A_c · g(t − t_c) for each year t (ha)."""
    out = np.zeros(len(years))
    for year, area in schedule.items():
        out += area * response(years - year, **curve)
    return out


@dataclass
class SinkSeries:
    r_target: float
    years: np.ndarray
    treated_ha: np.ndarray  # cumulative scheduled area treated by year t (ha)
    effective_ha: np.ndarray  # Σ A_c g(t − t_c) (ha)
    annual: np.ndarray  # t CO2/yr
    cumulative: np.ndarray  # t CO2 since the first treatment year
    mc_annual: dict = field(default_factory=dict)  # percentile name -> array
    mc_cumulative: dict = field(default_factory=dict)
    a1_annual: dict = field(default_factory=dict)  # IPCC Approach 1: low/high
    a1_cumulative: dict = field(default_factory=dict)
    parameters: list[Parameter] = field(default_factory=list)


def _exact_product(area: float, r_target: float, r_base: float) -> float:
    """area × (r_target − r_base) in decimal arithmetic (no binary rounding of 2.77 − 1.97)."""
    return float(Decimal(repr(float(area))) * (Decimal(repr(float(r_target))) - Decimal(repr(float(r_base)))))


def sink_series(schedule: dict[int, float], r_target: float, *, r_base: float = R_BASE, horizon: int = 2060,
                draws: int = 10_000, seed: int = 20211025, plateau_years: float | None = None,
                saturation_years: float | None = None, rel_sd: float = 0.10, area_sd: float = 0.05) -> SinkSeries:
    """Annual and cumulative additional sink with IPCC Approach 1 and 2 uncertainty."""
    if not schedule:
        raise ProgramError("进度表为空", "the schedule is empty")
    if draws < 100:
        raise ProgramError("蒙特卡洛次数至少 100", "Monte Carlo needs at least 100 draws")
    start = min(schedule)
    if horizon < start:
        raise ProgramError(f"终止年份 {horizon} 早于首个实施年份 {start}", f"horizon {horizon} is before the first "
                           f"treatment year {start}")
    years = np.arange(start, horizon + 1)
    curve = {"plateau_years": plateau_years, "saturation_years": saturation_years}
    eff = effective_area(schedule, years, **curve)
    treated = np.array([sum(a for y, a in schedule.items() if y <= t) for t in years])
    if saturation_years:
        annual = eff * (r_target - r_base)
    else:  # a step response: exact decimal products of whole cohorts
        annual = np.array([_exact_product(e, r_target, r_base) for e in eff])
    cumulative = np.cumsum(annual)
    params = default_parameters(r_target, rel_sd=rel_sd, area_sd=area_sd)
    p = {x.name: x for x in params}
    p["r_base"] = Parameter("r_base", r_base, p["r_base"].unit, "normal", round(r_base * rel_sd, 6), p["r_base"].source)
    params[0] = p["r_base"]
    # Approach 1: first-order error propagation; parameters are shared by all years (fully correlated)
    diff = r_target - r_base
    u_diff = math.hypot(p["r_target"].sd, p["r_base"].sd) / abs(diff) if diff else float("inf")
    u = math.hypot(u_diff, p["area_achieved"].sd)
    a1 = lambda x: {"p2_5": x * (1 - 1.96 * u), "p97_5": x * (1 + 1.96 * u)}  # noqa: E731
    # Approach 2: Monte Carlo with a fixed seed
    rng = np.random.default_rng(seed)
    rb = rng.normal(r_base, p["r_base"].sd, draws)
    rt = rng.normal(r_target, p["r_target"].sd, draws)
    fa = rng.normal(1.0, p["area_achieved"].sd, draws)
    sims = (fa * (rt - rb))[:, None] * eff[None, :]
    sims_cum = np.cumsum(sims, axis=1)
    pct = lambda arr: {k: np.percentile(arr, q, axis=0) for k, q in (("p2_5", 2.5), ("p50", 50), ("p97_5", 97.5))}  # noqa: E731
    return SinkSeries(r_target, years, treated, eff, annual, cumulative, pct(sims), pct(sims_cum), a1(annual),
                      a1(cumulative), params)


def buyback_gain(area_ha: float = BUYBACK_HA, *, rotation_years: float | None = None,
                 harvest_stock_tC_ha: float | None = None, r_base: float = R_BASE) -> dict:
    """Benefit of buying back commercial forest.

    With a harvest baseline (rotation, carbon removed per harvested ha), the additional benefit
    is the avoided harvest emission A/rotation × stock × 44/12 per year. Without one only the
    gross sink A × r_base is known, and it is NOT additional (that forest sinks anyway).
    """
    if (rotation_years is None) != (harvest_stock_tC_ha is None):
        raise ProgramError("采伐基线需要同时给出轮伐期和采伐碳储量", "a harvest baseline needs both the rotation "
                           "(years) and the harvested stock (t C/ha)")
    gross = float(Decimal(repr(float(area_ha))) * Decimal(repr(float(r_base))))
    out = {"area_ha": area_ha, "gross_sink_tCO2_per_yr": gross, "gross_sink_additional": False,
           "gross_sink_source": f"{area_ha:,.0f} ha × {r_base} t CO2/ha/yr ({SEED_DOC} 一、（二）)"}
    if rotation_years is not None:
        if rotation_years <= 0 or harvest_stock_tC_ha < 0:
            raise ProgramError("轮伐期须为正、采伐碳储量不能为负", "rotation must be > 0 and harvested stock >= 0")
        avoided = area_ha / rotation_years * harvest_stock_tC_ha * 44.0 / 12.0
        out.update({"avoided_harvest_tCO2_per_yr": avoided, "additional": True,
                    "baseline": {"rotation_years": rotation_years, "harvest_stock_tC_ha": harvest_stock_tC_ha}})
    else:
        out.update({"avoided_harvest_tCO2_per_yr": None, "additional": None,
                    "note": "no harvest baseline given: only the gross sink is reported, and it is not additional"})
    return out
