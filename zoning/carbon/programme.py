"""Sink gains of the forest-quality programme (森林质量精准提升, 30,000 ha) and the buy-back of
commercial forest in key ecological locations (商品林赎买, 16,700 ha), accounted the way a
forest-carbon project is filed (CCER 森林经营碳汇 AR-CM-003 style; IPCC 2006/2019 Vol. 4 Ch. 4).

Quality programme (forest management), per cohort c (stands treated in year t_c) and year t:

    baseline removals  B_c(t) = A_c · r_base   · g_c(t)          [t CO2/yr]
    project removals   P_c(t) = A_c · r_target · g_c(t)
    gross additional   ΔS_t   = Σ_c (P_c − B_c) = Σ_c A_c · (r_target − r_base) · g_c(t)

g_c(t) = 0 before treatment; with the plan's rates (``growth="plan"``) 1 from the treatment year
on (or the optional plateau/decay curve); with growth curves (``growth="curve"``) the stand's
Chapman-Richards increment at its age in year t, relative to the stands' area-weighted mean
increment at treatment (so the plan's mean rates are kept and stands saturate with age).
Central values of the plan-rate case use exact decimal arithmetic: 30,000 × (2.77 − 1.97) =
24,000 and 30,000 × (3.86 − 1.97) = 56,700 t CO2/yr to the digit.

Buy-back (avoided harvest): the baseline harvests each stand at its rotation age (intensity h,
the share of the stock removed) and regrows the harvested share; the project does not harvest.
Additional = avoided harvest emissions − the baseline regrowth the project forgoes.

Deductions (each reported apart): leakage L = λ·max(ΔS, 0) → net N = ΔS − L; stands on
registered carbon projects (CCER/FFCER/林业碳票) are excluded from what can be credited; on the
eligible net E: conservativeness C = DR·max(E, 0) (DR from the uncertainty, as the CCER
methodologies reduce an estimate whose uncertainty exceeds 10 %), then the permanence buffer
F = b·max(E − C, 0); creditable = E − C − F.

Uncertainty: every input's uncertainty is the half-width of its 95 % confidence interval as a
share of the value (IPCC 2006 Vol. 1 Ch. 3); normal distributions with sd = half-width/1.96.
Approach 1 propagates them to first order (U = sqrt(Σ (U_i·x_i)²)/|Σ x_i| for sums, relative
U's add in quadrature for products); Approach 2 is a Monte Carlo with a fixed seed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from zoning.errors import ProgramError
from zoning.vocabulary import BROADLEAF, BUYBACK, CHINESE_FIR, MASSON_PINE, OTHER_FOREST, QUALITY

SEED_DOC = "南平市减污降碳协同增效实施方案（征求意见稿）"
CO2_PER_C = 44.0 / 12.0
R_BASE = 1.97
SCENARIOS = {"2.77": "福建省平均 Fujian mean", "3.86": "全国平均 national mean"}
TARGET_HA = 30_000.0
BUYBACK_HA = 16_700.0
EMISSIONS_2020_TCO2 = 10_750_000.0  # 1075 万吨, seed document 一、（一）
DEFAULT_SCHEDULE = {2021: 6000.0, 2022: 6000.0, 2023: 6000.0, 2024: 6000.0, 2025: 6000.0}
REPORT_YEARS = (2025, 2030, 2060)
#: the years a programme may plausibly name
YEAR_RANGE = (1950, 2200)
FUJIAN_DENSITY_TC_HA = 39.86  # Fujian forest biomass carbon density, 2014-2018 inventory

#: the convention every output declares
U95_CONVENTION = ("uncertainties are half-widths of 95 % confidence intervals, as a share of the value "
                  "(IPCC 2006 Guidelines Vol. 1 Ch. 3); Monte Carlo inputs are normal with sd = half-width / 1.96")
U95_CONVENTION_CHINESE = "不确定性为 95% 置信区间半宽占数值的比例（IPCC 2006 指南第 1 卷第 3 章）；蒙特卡洛输入按正态分布，标准差 = 半宽 / 1.96"
Z95, Z90 = 1.959963984540054, 1.6448536269514722

# --- default uncertainties (95 % half-widths, share of the value) and deductions ----------------
RATE_U95 = 0.10
AREA_U95 = 0.05
HARVEST_STOCK_U95 = 0.20
ROTATION_U95 = 0.10
LEAKAGE = {QUALITY: 0.0, BUYBACK: 0.40}
LEAKAGE_U95 = 0.50
BUFFER = 0.10
#: CCER-style conservativeness: (upper bound of the 90 % relative uncertainty, deduction DR)
DR_BANDS = ((0.10, 0.0), (0.20, 0.06), (0.30, 0.11))
CCER_FM = "CCER 森林经营碳汇项目方法学 AR-CM-003-V01 (2014)"
CCER_AR = "CCER 碳汇造林项目方法学 AR-CM-001-V01 (2014)"
IPCC_2006 = "IPCC 2006 Guidelines for National GHG Inventories (Vol. 1 Ch. 3 uncertainties; Vol. 4 Ch. 4 forest land)"
IPCC_2019 = "IPCC 2019 Refinement to the 2006 Guidelines (Vol. 4 Ch. 4; Vol. 1 Ch. 3)"
VCS_AFOLU = "Verra VCS AFOLU Requirements / AFOLU Non-Permanence Risk Tool (v4)"


@dataclass(frozen=True)
class Parameter:
    """One row of the parameter table. ``u95`` is the 95 % half-width as a share of ``value``
    (0 = fixed); ``assumption`` marks a value for which no published figure was found."""

    name: str
    value: float | str
    unit: str
    distribution: str
    u95: float
    source: str
    assumption: bool = False
    programme: str = ""

    @property
    def sd(self) -> float:
        """Absolute standard deviation of a normal input (half-width / 1.96)."""
        try:
            return abs(float(self.value)) * self.u95 / Z95
        except (TypeError, ValueError):
            return 0.0

    def record(self) -> dict:
        return {"name": self.name, "value": self.value, "unit": self.unit, "distribution": self.distribution,
                "u95": self.u95, "u95_pct": round(self.u95 * 100, 6), "sd": round(self.sd, 9),
                "source": self.source, "assumption": self.assumption, "programme": self.programme}


# --- growth curves ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class GrowthCurve:
    """Chapman-Richards biomass carbon curve S(a) = A·(1 − e^(−k·a))^p (t C/ha) of a forest type, with
    the rotation age its commercial forest is harvested at in the buy-back baseline."""

    forest_type: str
    A: float  # asymptote, t C/ha (biomass, above + below ground)
    k: float  # 1/yr
    p: float  # shape
    rotation: float  # yr
    default_age: float  # yr, used when a stand's age is unknown
    source: str
    assumption: bool = True

    def stock(self, age) -> np.ndarray:
        a = np.clip(np.asarray(age, dtype="float64"), 0.0, None)
        return self.A * (1.0 - np.exp(-self.k * a)) ** self.p

    def increment_tco2(self, age) -> np.ndarray:
        """Annual stock gain from age a to a + 1, t CO2/ha/yr (exact differences: sums telescope)."""
        a = np.asarray(age, dtype="float64")
        return (self.stock(a + 1.0) - self.stock(a)) * CO2_PER_C


_CURVE_NOTE = ("shape assumed (no published Chapman-Richards fit for Nanping stands was found): peak increment "
               "at about ln(p)/k yr; only the shape matters with the default calibration to the plan's rate")
_ROTATION_NOTE = ("rotation (主伐年龄) assumed from the usual southern-China age groups of commercial forest; "
                  "check against the county's 森林经营方案")
GROWTH_CURVES: dict[str, GrowthCurve] = {
    CHINESE_FIR: GrowthCurve(CHINESE_FIR, 100.0, 0.10, 2.5, 26, 12, f"{_CURVE_NOTE}; {_ROTATION_NOTE}"),
    MASSON_PINE: GrowthCurve(MASSON_PINE, 90.0, 0.07, 2.2, 31, 15, f"{_CURVE_NOTE}; {_ROTATION_NOTE}"),
    BROADLEAF: GrowthCurve(BROADLEAF, 120.0, 0.045, 1.8, 41, 20, f"{_CURVE_NOTE}; {_ROTATION_NOTE}"),
    OTHER_FOREST: GrowthCurve(OTHER_FOREST, 100.0, 0.06, 2.0, 31, 15, f"{_CURVE_NOTE}; {_ROTATION_NOTE}"),
}


def read_growth_curves(path: Path | str | None) -> dict[str, GrowthCurve]:
    """The curve table, with rows of a CSV (forest_type, A, k, p, rotation, default_age, source) replacing defaults."""
    curves = dict(GROWTH_CURVES)
    if path is None:
        return curves
    from zoning.vocabulary import FOREST_TYPE_ALIASES

    df = read_table(path, "growth curves")
    cols = {c.strip().lower(): c for c in df.columns}
    need = ("forest_type", "a", "k", "p")
    if not all(n in cols for n in need):
        raise ProgramError(f"生长曲线表 {Path(path).name} 需要 forest_type、A、k、p 列",
                           f"growth-curve table {Path(path).name} needs columns forest_type, A, k, p "
                           f"(optional rotation, default_age, source)")
    for _, row in df.iterrows():
        key = FOREST_TYPE_ALIASES.get(str(row[cols["forest_type"]]).strip().lower(),
                                      str(row[cols["forest_type"]]).strip())
        base = curves.get(key, curves[OTHER_FOREST])
        try:
            values = {n: float(row[cols[n]]) for n in ("a", "k", "p")}
            rotation = float(row[cols["rotation"]]) if "rotation" in cols else base.rotation
            age = float(row[cols["default_age"]]) if "default_age" in cols else base.default_age
        except (TypeError, ValueError):
            raise ProgramError(f"生长曲线表中 {key} 的参数不是数字", f"growth curve of {key}: parameters are not numbers") from None
        if not all(math.isfinite(v) and v > 0 for v in (*values.values(), rotation)) or not math.isfinite(age):
            raise ProgramError(f"生长曲线 {key} 的参数须为正数", f"growth curve of {key}: A, k, p and rotation must be > 0")
        source = str(row[cols["source"]]) if "source" in cols and isinstance(row[cols["source"]], str) else \
            f"user table {Path(path).name}"
        curves[key] = GrowthCurve(key, values["a"], values["k"], values["p"], rotation, max(age, 0.0), source,
                                  assumption="source" not in cols)
    return curves


# --- inputs -------------------------------------------------------------------------------------------
def read_table(path: Path | str, what: str) -> pd.DataFrame:
    """A small CSV/XLSX table in UTF-8 (with or without BOM) or GBK/GB18030, as strings."""
    path = Path(path)
    if not path.exists():
        raise ProgramError(f"{what}文件不存在：{path}", f"{what} file not found: {path}")
    try:
        if path.suffix.lower() in (".xlsx", ".xls"):
            return pd.read_excel(path, dtype=str)
        raw = path.read_bytes()
    except OSError as exc:
        raise ProgramError(f"无法读取{what}文件 {path}：{exc.strerror}", f"cannot read {what} file {path}: "
                           f"{exc.strerror}") from None
    except Exception as exc:  # a broken workbook
        raise ProgramError(f"无法读取{what}文件 {path}", f"cannot read {what} file {path}: {exc}") from None
    text = None
    for codec in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(codec)
            break
        except UnicodeDecodeError:
            continue
    if text is None:
        raise ProgramError(f"{what}文件 {path.name} 既不是 UTF-8 也不是 GBK 编码", f"{what} file {path.name} is "
                           f"neither UTF-8 nor GBK text")
    import io

    try:
        return pd.read_csv(io.StringIO(text), dtype=str, skipinitialspace=True)
    except Exception as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ProgramError(f"无法读取{what}文件 {path.name}：{msg}", f"cannot read {what} file {path.name}: {msg}") from None


def check_year(value, where: str) -> int:
    """A plausible calendar year (1950-2200) or a one-line ProgramError."""
    try:
        year = float(str(value).strip())
    except (TypeError, ValueError):
        raise ProgramError(f"{where}：年份不是数字 {value!r}", f"{where}: year is not a number: {value!r}") from None
    if not math.isfinite(year) or year != int(year) or not YEAR_RANGE[0] <= year <= YEAR_RANGE[1]:
        raise ProgramError(f"{where}：年份 {value} 不合理（应为 {YEAR_RANGE[0]}–{YEAR_RANGE[1]} 之间的整数）",
                           f"{where}: year {value} is implausible (expected a whole year {YEAR_RANGE[0]}-"
                           f"{YEAR_RANGE[1]})")
    return int(year)


def check_rate(value: float, name: str) -> float:
    """A sink rate in t CO2/ha/yr: finite and not negative."""
    try:
        rate = float(value)
    except (TypeError, ValueError):
        raise ProgramError(f"{name} 不是数字：{value!r}", f"{name} is not a number: {value!r}") from None
    if not math.isfinite(rate) or rate < 0:
        raise ProgramError(f"{name} = {value} 无效：碳汇速率须为不小于 0 的有限数（t CO2/ha/yr）",
                           f"{name} = {value} is invalid: a sink rate must be a finite number >= 0 (t CO2/ha/yr)")
    return rate


def check_number(value, name: str, *, low: float = 0.0, low_open: bool = False) -> float:
    """A finite number >= ``low`` (> ``low`` with ``low_open``) or a one-line ProgramError."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ProgramError(f"{name} 不是数字：{value!r}", f"{name} is not a number: {value!r}") from None
    if not math.isfinite(number):
        raise ProgramError(f"{name} = {value} 不是有限数字", f"{name} = {value} is not a number (finite number needed)")
    if number < low or (low_open and number == low):
        op = ">" if low_open else ">="
        raise ProgramError(f"{name} = {value} 须 {op} {low:g}", f"{name} = {value} must be {op} {low:g}")
    return number


def check_share(value: float, name: str, *, upper: float = 1.0) -> float:
    try:
        share = float(value)
    except (TypeError, ValueError):
        raise ProgramError(f"{name} 不是数字：{value!r}", f"{name} is not a number: {value!r}") from None
    if not math.isfinite(share) or not 0.0 <= share <= upper:
        raise ProgramError(f"{name} = {value} 须在 0 与 {upper:g} 之间", f"{name} = {value} must be between 0 and {upper:g}")
    return share


def read_schedule(path: Path | str | None) -> dict[int, float]:
    """Treated area per year (ha): CSV/XLSX with columns year, area_ha (UTF-8 or GBK); default 6,000 ha/yr 2021-2025."""
    if path is None:
        return dict(DEFAULT_SCHEDULE)
    path = Path(path)
    df = read_table(path, "进度表 schedule ")
    cols = {str(c).strip().lower(): c for c in df.columns}
    cols.update({k: cols[v] for k, v in (("year", "年份"), ("year", "年度"), ("area_ha", "面积"), ("area_ha", "面积_ha"))
                 if v in cols and k not in cols})
    if "year" not in cols or "area_ha" not in cols:
        raise ProgramError(f"进度表 {path.name} 需要 year、area_ha 两列", f"schedule {path.name} needs columns year, area_ha")
    out: dict[int, float] = {}
    for y, a in zip(df[cols["year"]], df[cols["area_ha"]]):
        year = check_year(y, f"进度表 schedule {path.name}")
        try:
            area = float(str(a).replace(",", "").strip())
        except (TypeError, ValueError):
            raise ProgramError(f"进度表 {path.name} 中有非数字：{y}, {a}", f"schedule {path.name}: not numbers: {y}, {a}") from None
        if not math.isfinite(area):
            raise ProgramError(f"进度表 {path.name}：{year} 年的面积不是有限数字（{a}）",
                               f"schedule {path.name}: area_ha of {year} is not a number ({a})")
        if area < 0:
            raise ProgramError(f"进度表面积不能为负：{year}", f"schedule area must be >= 0 (year {year})")
        if year in out:
            raise ProgramError(f"进度表 {path.name} 中年份 {year} 重复；每年只能一行",
                               f"schedule {path.name}: year {year} appears more than once; give one row per year")
        out[year] = area
    if not out:
        raise ProgramError(f"进度表 {path.name} 为空", f"schedule {path.name} is empty")
    if sum(out.values()) <= 0:
        raise ProgramError(f"进度表 {path.name} 的总面积为 0", f"schedule {path.name} has no area")
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


# --- cohorts ------------------------------------------------------------------------------------------
COHORT_COLUMNS = ["programme", "county_code", "county", "forest_type", "age", "year", "area_ha", "registered_ha",
                  "stock_tC_ha"]


def schedule_cohorts(schedule: dict[int, float], county_shares: pd.DataFrame | None = None, *,
                     programme: str = QUALITY, registered_share: dict | None = None) -> pd.DataFrame:
    """Cohorts of a schedule split over counties by their shares (``county_code``, ``county``, ``share``)."""
    if county_shares is None or len(county_shares) == 0:
        county_shares = pd.DataFrame({"county_code": [None], "county": [None], "share": [1.0]})
    rows = []
    for year, area in schedule.items():
        for c in county_shares.itertuples(index=False):
            a = area * float(c.share)
            rho = float((registered_share or {}).get(c.county_code, 0.0))
            rows.append({"programme": programme, "county_code": c.county_code, "county": c.county,
                         "forest_type": OTHER_FOREST, "age": np.nan, "year": int(year), "area_ha": a,
                         "registered_ha": a * rho, "stock_tC_ha": np.nan})
    return pd.DataFrame(rows, columns=COHORT_COLUMNS)


def growth_modifier(cohorts: pd.DataFrame, years: np.ndarray, *, growth: str = "plan",
                    curves: dict[str, GrowthCurve] | None = None, plateau_years: float | None = None,
                    saturation_years: float | None = None) -> tuple[np.ndarray, dict]:
    """g_c(t) for every cohort (rows) and year (columns), and a note on how it was made.

    ``plan``: the plan's constant rates from the treatment year on (optionally the plateau/decay
    curve). ``curve``: the Chapman-Richards increment of the cohort's type at its age in year t,
    divided by the cohorts' area-weighted mean increment at treatment, so that the mean rate at
    treatment is the plan's and each stand then rises or saturates with its age.
    """
    tau = years[None, :] - cohorts["year"].to_numpy(dtype="float64")[:, None]
    if growth == "plan":
        return response(tau, plateau_years=plateau_years, saturation_years=saturation_years), {"growth": "plan"}
    if growth != "curve":
        raise ProgramError(f"未知生长模型 {growth!r}", f"unknown growth model {growth!r}; use plan or curve")
    curves = curves or GROWTH_CURVES
    types = cohorts["forest_type"].fillna(OTHER_FOREST).to_numpy()
    ages = cohorts["age"].to_numpy(dtype="float64")
    inc = np.zeros(tau.shape)
    inc0 = np.zeros(len(cohorts))
    used_default = 0
    for i, (kind, age) in enumerate(zip(types, ages)):
        curve = curves.get(kind, curves[OTHER_FOREST])
        if not math.isfinite(age):
            age, used_default = curve.default_age, used_default + 1
        inc[i] = np.where(tau[i] >= 0, curve.increment_tco2(age + np.clip(tau[i], 0, None)), 0.0)
        inc0[i] = float(curve.increment_tco2(age))
    area = cohorts["area_ha"].to_numpy(dtype="float64")
    mean0 = float((area * inc0).sum() / area.sum()) if area.sum() > 0 else 0.0
    if mean0 <= 0:
        raise ProgramError("生长曲线在实施年的平均增量为 0", "the growth curves give no increment at treatment")
    return inc / mean0, {"growth": "curve", "calibration_tCO2_ha_yr": mean0, "default_ages_used": used_default}


# --- accounting -------------------------------------------------------------------------------------
@dataclass
class Component:
    """A series of removals (t CO2/yr; negative = counted against) scaled by uncertain factors."""

    name: str
    values: np.ndarray
    clean: np.ndarray  # the part on stands not registered elsewhere
    factors: tuple[str, ...]


SERIES_KEYS = ("additional", "leakage", "net", "registered_excluded", "conservativeness", "buffer", "creditable")


def dr_for(u95: float | None, bands=DR_BANDS) -> tuple[float, str]:
    """The conservativeness deduction DR for an estimate of relative 95 % uncertainty ``u95``.

    CCER methodologies judge the precision at 90 % confidence: U90 = U95 × 1.645/1.96. Up to 10 %
    nothing is deducted, then 6 % (≤ 20 %) and 11 % (≤ 30 %); above 30 % a methodology asks for more
    sample plots, and zoning deducts down to the lower 90 % bound (DR = U90, capped at 1).
    """
    if u95 is None or not math.isfinite(u95):
        return 1.0, "uncertainty unbounded (estimate near zero): everything deducted"
    u90 = u95 * Z90 / Z95
    for upper, dr in bands:
        if u90 <= upper + 1e-12:
            return dr, f"U90 = {u90:.1%} ≤ {upper:.0%}: DR = {dr:.0%}"
    return min(u90, 1.0), (f"U90 = {u90:.1%} > {bands[-1][0]:.0%}: more monitoring needed before issuance; deducted "
                           f"to the lower 90 % bound (DR = U90)")


def _rel_u(components: list[Component], values: str, factors: dict[str, float], cum: bool = False) -> np.ndarray:
    """Approach 1: relative 95 % half-width of Σ components per year (or of their cumulative sums)."""
    pick = (lambda c: np.cumsum(getattr(c, values))) if cum else (lambda c: getattr(c, values))
    total = sum(pick(c) for c in components)
    var = np.zeros_like(total, dtype="float64")
    for name, u in factors.items():
        part = sum((pick(c) for c in components if name in c.factors), np.zeros_like(total, dtype="float64"))
        var = var + (u * part) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.sqrt(var) / np.abs(total)
    return np.where(np.abs(total) > 0, rel, np.inf)


def _abs_u(components: list[Component], values: str, factors: dict[str, float]) -> np.ndarray:
    """Approach 1: absolute 95 % half-width (t CO2) of Σ components per year; defined also where the
    sum is 0 (a scenario at the baseline), where the relative half-width is not."""
    total = sum(getattr(c, values) for c in components)
    var = np.zeros_like(total, dtype="float64")
    for name, u in factors.items():
        part = sum((getattr(c, values) for c in components if name in c.factors), np.zeros_like(total, dtype="float64"))
        var = var + (u * part) ** 2
    return np.sqrt(var)


@dataclass
class Accounting:
    """Central, Approach 1 and Approach 2 values of every series, annual and cumulative (t CO2)."""

    years: np.ndarray
    central: dict  # key -> annual array
    cumulative: dict  # key -> cumulative array
    mc: dict  # key -> {"p2_5","p50","p97_5"} annual
    mc_cumulative: dict
    a1: dict  # key -> {"p2_5","p97_5"} annual
    a1_cumulative: dict
    u95: dict  # key -> relative 95 % half-width per year (Approach 1)
    u95_total: dict  # key -> relative 95 % half-width of the cumulative total to the horizon
    dr: float
    dr_note: str
    leakage_share: float
    buffer_share: float
    components: dict  # name -> annual array (baseline, project, avoided harvest …)
    u95_abs: dict = field(default_factory=dict)  # key -> absolute 95 % half-width per year, t CO2 (Approach 1)


def account(components: list[Component], years: np.ndarray, *, factors: dict[str, float], leakage: float = 0.0,
            leakage_u95: float = LEAKAGE_U95, buffer: float = BUFFER, conservativeness: str | float | None = "auto",
            draws: int = 10_000, seed: int = 20211025, exact_gross: np.ndarray | None = None) -> Accounting:
    """Gross, leakage, net, registered, conservativeness, buffer and creditable series with both approaches."""
    leakage = check_share(leakage, "leakage")
    buffer = check_share(buffer, "buffer")
    gross = exact_gross if exact_gross is not None else sum(c.values for c in components)
    clean = sum(c.clean for c in components)
    if exact_gross is not None:  # keep the exact decimal product where nothing is registered
        same = np.isclose(clean, sum(c.values for c in components), rtol=0, atol=1e-9)
        clean = np.where(same, gross, clean)
    u_g = _rel_u(components, "values", factors)
    u_c = _rel_u(components, "clean", factors)
    u_g_tot = _rel_u(components, "values", factors, cum=True)[-1]
    u_c_tot = _rel_u(components, "clean", factors, cum=True)[-1]
    u_lam = leakage_u95 * leakage / (1 - leakage) if leakage < 1 else np.inf

    def net_u(u):
        return np.sqrt(u ** 2 + u_lam ** 2)

    if conservativeness in (None, "none", "off", False):
        dr, note = 0.0, "no conservativeness deduction (switched off)"
    elif conservativeness == "auto":
        dr, note = dr_for(float(net_u(u_c_tot)) if np.isfinite(u_c_tot) else None)
    else:
        dr = check_share(conservativeness, "conservativeness DR")
        note = f"DR = {dr:.0%} given"

    def deduct(g, c):
        leak = leakage * np.maximum(g, 0.0)
        net = g - leak
        net_clean = c - leakage * np.maximum(c, 0.0)
        cons = dr * np.maximum(net_clean, 0.0)
        buf = buffer * np.maximum(net_clean - cons, 0.0)
        # creditable removals are never negative: a debit (net < 0) stays in net, labelled negative
        return {"additional": g, "leakage": leak, "net": net, "registered_excluded": net - net_clean,
                "conservativeness": cons, "buffer": buf, "creditable": np.maximum(net_clean - cons - buf, 0.0)}

    central = deduct(np.asarray(gross, dtype="float64"), np.asarray(clean, dtype="float64"))
    central["additional"] = np.asarray(gross, dtype="float64")
    # Approach 1 relative half-widths of each series
    u_net_c = net_u(u_c)
    u = {"additional": u_g, "leakage": np.sqrt(u_g ** 2 + leakage_u95 ** 2) if leakage > 0 else np.zeros_like(u_g),
         "net": net_u(u_g), "registered_excluded": net_u(u_g), "conservativeness": u_net_c, "buffer": u_net_c,
         "creditable": u_net_c}
    u_tot = {"additional": float(u_g_tot), "net": float(net_u(u_g_tot)), "creditable": float(net_u(u_c_tot)),
             "leakage": float(np.sqrt(u_g_tot ** 2 + leakage_u95 ** 2)) if leakage > 0 else 0.0,
             "conservativeness": float(net_u(u_c_tot)), "buffer": float(net_u(u_c_tot)),
             "registered_excluded": float(net_u(u_g_tot))}

    def bounds(x, rel):
        rel = np.where(np.isfinite(rel), rel, np.nan)
        return {"p2_5": x - np.abs(x) * rel, "p97_5": x + np.abs(x) * rel}

    cumulative = {k: np.cumsum(v) for k, v in central.items()}
    u_cum = {k: None for k in central}
    for key, vals in (("additional", "values"),):
        u_cum[key] = _rel_u(components, vals, factors, cum=True)
    u_cum["net"] = net_u(u_cum["additional"])
    u_cum_clean = net_u(_rel_u(components, "clean", factors, cum=True))
    for key in ("conservativeness", "buffer", "creditable"):
        u_cum[key] = u_cum_clean
    u_cum["registered_excluded"] = u_cum["net"]
    u_cum["leakage"] = np.sqrt(u_cum["additional"] ** 2 + leakage_u95 ** 2) if leakage > 0 else \
        np.zeros_like(u_cum["additional"])
    a1 = {k: bounds(central[k], u[k]) for k in central}
    a1_cum = {k: bounds(cumulative[k], u_cum[k]) for k in central}
    # Approach 2: Monte Carlo, fixed seed
    rng = np.random.default_rng(seed)
    draws_f = {name: rng.normal(1.0, uu / Z95, draws) for name, uu in factors.items()}
    lam = np.clip(rng.normal(leakage, leakage * leakage_u95 / Z95, draws), 0.0, 1.0) if leakage > 0 \
        else np.zeros(draws)
    g_d = np.zeros((draws, len(years)))
    c_d = np.zeros((draws, len(years)))
    for comp in components:
        f = np.ones(draws)
        for name in comp.factors:
            f = f * draws_f.get(name, 1.0)
        g_d += f[:, None] * comp.values[None, :]
        c_d += f[:, None] * comp.clean[None, :]
    leak_d = lam[:, None] * np.maximum(g_d, 0.0)
    net_d = g_d - leak_d
    netc_d = c_d - lam[:, None] * np.maximum(c_d, 0.0)
    cons_d = dr * np.maximum(netc_d, 0.0)
    buf_d = buffer * np.maximum(netc_d - cons_d, 0.0)
    sims = {"additional": g_d, "leakage": leak_d, "net": net_d, "registered_excluded": net_d - netc_d,
            "conservativeness": cons_d, "buffer": buf_d,
            "creditable": np.maximum(netc_d - cons_d - buf_d, 0.0)}

    def pct(arr):
        return {k: np.percentile(arr, q, axis=0) for k, q in (("p2_5", 2.5), ("p50", 50), ("p97_5", 97.5))}

    mc = {k: pct(v) for k, v in sims.items()}
    mc_cum = {k: pct(np.cumsum(v, axis=1)) for k, v in sims.items()}
    return Accounting(years, central, cumulative, mc, mc_cum, a1, a1_cum, u, u_tot, dr, note, leakage, buffer,
                      {c.name: c.values for c in components},
                      {"additional": _abs_u(components, "values", factors)})


# --- the quality programme --------------------------------------------------------------------------
@dataclass
class SinkSeries:
    """One scenario of the quality programme (or the buy-back): every series, t CO2 (per year)."""

    r_target: float
    years: np.ndarray
    treated_ha: np.ndarray  # cumulative area treated by year t (ha)
    effective_ha: np.ndarray  # Σ A_c g_c(t) (ha)
    annual: np.ndarray  # gross additional, t CO2/yr
    cumulative: np.ndarray  # t CO2 since the first treatment year
    mc_annual: dict = field(default_factory=dict)  # percentile name -> array
    mc_cumulative: dict = field(default_factory=dict)
    a1_annual: dict = field(default_factory=dict)  # IPCC Approach 1: p2_5/p97_5
    a1_cumulative: dict = field(default_factory=dict)
    parameters: list[Parameter] = field(default_factory=list)
    accounting: Accounting | None = None
    baseline: np.ndarray | None = None  # baseline removals, t CO2/yr
    project: np.ndarray | None = None  # project removals, t CO2/yr
    programme: str = QUALITY
    warnings: list[str] = field(default_factory=list)
    growth: dict = field(default_factory=dict)
    cohort_series: np.ndarray | None = None  # gross additional per cohort (rows) and year
    cohort_clean: np.ndarray | None = None

    @property
    def u95(self) -> float:
        """Approach 1 relative 95 % half-width of the gross additional sink (constant over years with the plan's rates)."""
        if self.accounting is None:
            return float("nan")
        return self.accounting.u95_total["additional"]

    @property
    def negative(self) -> bool:
        return bool(np.nanmin(self.annual) < 0) if len(self.annual) else False

    def series(self, key: str) -> np.ndarray:
        return self.accounting.central[key]


def _exact_product(area: float, r_target: float, r_base: float) -> float:
    """area × (r_target − r_base) in decimal arithmetic (no binary rounding of 2.77 − 1.97)."""
    return float(Decimal(repr(float(area))) * (Decimal(repr(float(r_target))) - Decimal(repr(float(r_base)))))


def _exact_times(area: float, rate: float) -> float:
    return float(Decimal(repr(float(area))) * Decimal(repr(float(rate))))


def default_parameters(r_target: float, *, r_base: float = R_BASE, rate_u95: float = RATE_U95,
                       area_u95: float = AREA_U95) -> list[Parameter]:
    """The quality programme's rows of the parameter table: value, unit, distribution, 95 % half-width, source."""
    src_rate = f"{SEED_DOC} 一、（二）"
    note = "95 % half-width ±{:.0%}: zoning default (no published uncertainty for the plan's rates); rates independent"
    scen = SCENARIOS.get(f"{r_target:.2f}")
    return [
        Parameter("r_base", r_base, "t CO2/ha/yr", "normal", rate_u95,
                  f"Nanping biomass sink 1.97 t CO2/ha/yr, {src_rate}" if r_base == R_BASE else "user value",
                  assumption=r_base != R_BASE, programme=QUALITY),
        Parameter("r_base u95", rate_u95, "share", "fixed", 0.0, note.format(rate_u95), assumption=True,
                  programme=QUALITY),
        Parameter("r_target", r_target, "t CO2/ha/yr", "normal", rate_u95,
                  f"{scen}, {src_rate}" if scen else "user scenario", assumption=scen is None, programme=QUALITY),
        Parameter("area_achieved", 1.0, "share of the treated area", "normal", area_u95,
                  f"share of the planned/declared area actually treated; ±{area_u95:.0%} zoning default",
                  assumption=True, programme=QUALITY),
        Parameter("emissions_2020", EMISSIONS_2020_TCO2, "t CO2", "fixed", 0.0, f"{SEED_DOC} 一、（一）: 1075 万吨"),
    ]


def sink_series(schedule: dict[int, float] | None, r_target: float, *, r_base: float = R_BASE, horizon: int = 2060,
                draws: int = 10_000, seed: int = 20211025, plateau_years: float | None = None,
                saturation_years: float | None = None, rate_u95: float | None = None, area_u95: float | None = None,
                rel_sd: float | None = None, area_sd: float | None = None, cohorts: pd.DataFrame | None = None,
                growth: str = "plan", curves: dict[str, GrowthCurve] | None = None,
                leakage: float = LEAKAGE[QUALITY], leakage_u95: float = LEAKAGE_U95, buffer: float = BUFFER,
                conservativeness: str | float | None = "auto") -> SinkSeries:
    """Baseline, project and additional removals of the quality programme with deductions and uncertainty.

    ``schedule`` (year -> ha) or ``cohorts`` (see :data:`COHORT_COLUMNS`) place the treated area.
    ``rate_u95``/``area_u95`` are 95 % half-widths (shares; ``rel_sd``/``area_sd`` are older names
    for the same numbers).
    """
    if rate_u95 is None:
        rate_u95 = rel_sd if rel_sd is not None else RATE_U95
    if area_u95 is None:
        area_u95 = area_sd if area_sd is not None else AREA_U95
    rate_u95, area_u95 = check_share(rate_u95, "rate u95"), check_share(area_u95, "area u95")
    r_target, r_base = check_rate(r_target, "r_target"), check_rate(r_base, "r_base")
    if cohorts is None:
        if not schedule:
            raise ProgramError("进度表为空", "the schedule is empty")
        cohorts = schedule_cohorts(schedule)
    if len(cohorts) == 0 or cohorts["area_ha"].sum() <= 0:
        raise ProgramError("没有实施面积", "the programme has no treated area")
    if draws < 100:
        raise ProgramError("蒙特卡洛次数至少 100", "Monte Carlo needs at least 100 draws")
    for y in cohorts["year"]:
        check_year(y, "实施年度 treatment year")
    horizon = check_year(horizon, "终止年份 horizon")
    start = int(cohorts["year"].min())
    if horizon < start:
        raise ProgramError(f"终止年份 {horizon} 早于首个实施年份 {start}", f"horizon {horizon} is before the first "
                           f"treatment year {start}")
    years = np.arange(start, horizon + 1)
    g, growth_note = growth_modifier(cohorts, years, growth=growth, curves=curves, plateau_years=plateau_years,
                                     saturation_years=saturation_years)
    area = cohorts["area_ha"].to_numpy(dtype="float64")
    clean_share = 1.0 - np.clip(cohorts["registered_ha"].fillna(0).to_numpy(dtype="float64")
                                / np.where(area > 0, area, 1.0), 0.0, 1.0)
    eff = (area[:, None] * g).sum(axis=0)
    eff_clean = ((area * clean_share)[:, None] * g).sum(axis=0)
    treated = np.array([area[cohorts["year"].to_numpy() <= t].sum() for t in years])
    step = growth == "plan" and not saturation_years
    diff = r_target - r_base
    if step:  # exact decimal products of whole cohorts (areas to 1e-6 ha = 0.01 m², so that county splits add up)
        eff = np.round(eff, 6)
        gross = np.array([_exact_product(e, r_target, r_base) for e in eff])
        baseline = np.array([_exact_times(e, r_base) for e in eff])
        project = np.array([_exact_times(e, r_target) for e in eff])
    else:
        gross, baseline, project = eff * diff, eff * r_base, eff * r_target
    components = [Component("project removals", eff * r_target, eff_clean * r_target, ("area", "r_target")),
                  Component("baseline removals", -eff * r_base, -eff_clean * r_base, ("area", "r_base"))]
    acc = account(components, years, factors={"area": area_u95, "r_target": rate_u95, "r_base": rate_u95},
                  leakage=leakage, leakage_u95=leakage_u95, buffer=buffer, conservativeness=conservativeness,
                  draws=draws, seed=seed, exact_gross=gross)
    acc.components = {"baseline": baseline, "project": project}
    params = default_parameters(r_target, r_base=r_base, rate_u95=rate_u95, area_u95=area_u95)
    warnings = []
    if r_target < r_base:
        warnings.append(f"情景速率 {r_target} 低于基线 {r_base}：额外碳汇为负（项目减少碳汇） / scenario rate {r_target} "
                        f"is below the baseline {r_base}: the additional sink is NEGATIVE (the programme would reduce "
                        f"the sink)")
    elif r_target == r_base:
        warnings.append(f"情景速率等于基线 {r_base}：没有额外碳汇 / scenario rate equals the baseline {r_base}: no "
                        f"additional sink")
    per_cohort = area[:, None] * g * diff
    column = per_cohort.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):  # cohorts add up to the (exact) total, to the last bit
        per_cohort = per_cohort * np.where(column != 0, acc.central["additional"] / column, 1.0)[None, :]
    return SinkSeries(r_target, years, treated, eff, acc.central["additional"], acc.cumulative["additional"],
                      acc.mc["additional"], acc.mc_cumulative["additional"], acc.a1["additional"],
                      acc.a1_cumulative["additional"], params, acc, baseline, project, QUALITY, warnings,
                      growth_note, per_cohort, per_cohort * clean_share[:, None])


# --- the buy-back -------------------------------------------------------------------------------------
def buyback_gain(area_ha: float = BUYBACK_HA, *, rotation_years: float | None = None,
                 harvest_stock_tC_ha: float | None = None, r_base: float = R_BASE,
                 intensity: float = 1.0) -> dict:
    """Benefit of buying back commercial forest, in steady state.

    With a harvest baseline (rotation, carbon removed per harvested ha), the additional benefit
    is the avoided harvest emission A/rotation × h × stock × 44/12 per year (a forest of evenly
    spread ages: A/rotation ha reach rotation age each year). Without one only the gross sink
    A × r_base is known, and it is NOT additional (that forest sinks anyway).
    """
    if (rotation_years is None) != (harvest_stock_tC_ha is None):
        raise ProgramError("采伐基线需要同时给出轮伐期和采伐碳储量", "a harvest baseline needs both the rotation "
                           "(years) and the harvested stock (t C/ha)")
    r_base = check_rate(r_base, "r_base")
    gross = float(Decimal(repr(float(area_ha))) * Decimal(repr(float(r_base))))
    out = {"area_ha": area_ha, "gross_sink_tCO2_per_yr": gross, "gross_sink_additional": False,
           "gross_sink_source": f"{area_ha:,.0f} ha × {r_base} t CO2/ha/yr ({SEED_DOC} 一、（二）)"}
    if rotation_years is not None:
        if not (math.isfinite(rotation_years) and rotation_years > 0) or not (
                math.isfinite(harvest_stock_tC_ha) and harvest_stock_tC_ha >= 0):
            raise ProgramError("轮伐期须为正、采伐碳储量不能为负", "rotation must be > 0 and harvested stock >= 0")
        intensity = check_share(intensity, "harvest intensity")
        avoided = area_ha / rotation_years * intensity * harvest_stock_tC_ha * CO2_PER_C
        out.update({"avoided_harvest_tCO2_per_yr": avoided, "additional": True,
                    "baseline": {"rotation_years": rotation_years, "harvest_stock_tC_ha": harvest_stock_tC_ha,
                                 "intensity": intensity}})
    else:
        out.update({"avoided_harvest_tCO2_per_yr": None, "additional": None,
                    "note": "no harvest baseline given: only the gross sink is reported, and it is not additional"})
    return out


def buyback_series(cohorts: pd.DataFrame, *, horizon: int = 2060, r_base: float = R_BASE,
                   rotation_years: float | None = None, harvest_stock_tC_ha: float | None = None,
                   intensity: float = 1.0, growth: str = "plan", curves: dict[str, GrowthCurve] | None = None,
                   area_u95: float = AREA_U95, rate_u95: float = RATE_U95, stock_u95: float = HARVEST_STOCK_U95,
                   rotation_u95: float = ROTATION_U95, leakage: float = LEAKAGE[BUYBACK],
                   leakage_u95: float = LEAKAGE_U95, buffer: float = BUFFER,
                   conservativeness: str | float | None = "auto", draws: int = 10_000,
                   seed: int = 20211025) -> SinkSeries:
    """Avoided-harvest additional removals of the buy-back, by cohort and year.

    Cohorts with an age: the baseline harvests the share ``intensity`` of the stand when it
    reaches the rotation age (in the purchase year if already older) and again every rotation
    for the regrown share; each harvest emits the stand's stock then (t C/ha at purchase, from the
    stand's measured density, ``harvest_stock_tC_ha`` or Fujian's 39.86, plus growth since). The
    project keeps the stand. Additional = avoided harvest emissions + (project growth − baseline
    growth). Cohorts without an age are taken as evenly aged: A/rotation ha reach rotation each
    year, so the avoided emission is A/R × h × stock × 44/12 per year from purchase.
    """
    curves = curves or GROWTH_CURVES
    r_base = check_rate(r_base, "r_base")
    intensity = check_share(intensity, "harvest intensity")
    horizon = check_year(horizon, "终止年份 horizon")
    for y in cohorts["year"]:
        check_year(y, "赎买年度 purchase year")
    start = int(cohorts["year"].min())
    if horizon < start:
        raise ProgramError(f"终止年份 {horizon} 早于首个赎买年份 {start}", f"horizon {horizon} is before the first "
                           f"purchase year {start}")
    years = np.arange(start, horizon + 1)
    n, ny = len(cohorts), len(years)
    harvest = np.zeros((n, ny))
    growth_diff = np.zeros((n, ny))
    uniform = np.zeros((n, ny))
    area = cohorts["area_ha"].to_numpy(dtype="float64")
    measured = cohorts["stock_tC_ha"].to_numpy(dtype="float64") if "stock_tC_ha" in cohorts else np.full(n, np.nan)
    g_old, note = growth_modifier(cohorts, years, growth=growth, curves=curves)
    for i, row in enumerate(cohorts.itertuples(index=False)):
        curve = curves.get(row.forest_type, curves[OTHER_FOREST])
        rot = float(rotation_years) if rotation_years is not None else float(curve.rotation)
        if not (math.isfinite(rot) and rot > 0):
            raise ProgramError("轮伐期须为正", "rotation must be > 0")
        h0 = harvest_stock_tC_ha if harvest_stock_tC_ha is not None else (
            measured[i] if math.isfinite(measured[i]) else FUJIAN_DENSITY_TC_HA)
        t0 = int(row.year)
        active = years >= t0
        if not math.isfinite(row.age):
            uniform[i, active] = area[i] / rot * intensity * h0 * CO2_PER_C
            continue
        # the project's stand: stock at purchase + growth; the baseline harvests the share h at rotation
        rate_old = r_base * g_old[i]  # t CO2/ha/yr of the kept stand
        stock_old = h0 + np.cumsum(np.where(active, rate_old, 0.0)) / CO2_PER_C - np.where(active, rate_old, 0.0) / CO2_PER_C
        first = t0 + max(0, int(math.ceil(rot - row.age)))
        regrow_age = None
        regrown = 0.0
        for j, t in enumerate(years):
            if t < t0:
                continue
            if t == first:
                harvest[i, j] += area[i] * intensity * stock_old[j] * CO2_PER_C
                regrow_age, regrown = 0.0, 0.0
                continue
            if regrow_age is not None:
                if regrow_age >= rot:  # the regrown share is harvested again
                    harvest[i, j] += area[i] * intensity * regrown * CO2_PER_C
                    regrow_age, regrown = 0.0, 0.0
                    continue
                if growth == "curve":
                    g_young = curve.increment_tco2(regrow_age) / note["calibration_tCO2_ha_yr"]
                else:
                    g_young = 1.0
                young_rate = r_base * g_young
                growth_diff[i, j] = area[i] * intensity * (rate_old[j] - young_rate)
                regrown += young_rate / CO2_PER_C
                regrow_age += 1.0
    clean_share = 1.0 - np.clip(cohorts["registered_ha"].fillna(0).to_numpy(dtype="float64")
                                / np.where(area > 0, area, 1.0), 0.0, 1.0)
    components = [
        Component("avoided harvest emissions", harvest.sum(0), (harvest * clean_share[:, None]).sum(0),
                  ("area", "harvest_stock")),
        Component("avoided harvest (even ages)", uniform.sum(0), (uniform * clean_share[:, None]).sum(0),
                  ("area", "harvest_stock", "rotation")),
        Component("growth kept minus baseline regrowth", growth_diff.sum(0),
                  (growth_diff * clean_share[:, None]).sum(0), ("area", "r_base")),
    ]
    acc = account(components, years, factors={"area": area_u95, "harvest_stock": stock_u95, "rotation": rotation_u95,
                                              "r_base": rate_u95},
                  leakage=leakage, leakage_u95=leakage_u95, buffer=buffer, conservativeness=conservativeness,
                  draws=draws, seed=seed)
    eff = np.array([area[cohorts["year"].to_numpy() <= t].sum() for t in years])
    acc.components = {"baseline": -(harvest + uniform).sum(0) + r_base * eff - growth_diff.sum(0),
                      "project": r_base * eff}
    per_cohort = harvest + uniform + growth_diff
    params = [
        Parameter("buyback harvest intensity", intensity, "share of stock removed at harvest", "fixed", 0.0,
                  "clear-cut of commercial forest (皆伐) assumed unless given", assumption=True, programme=BUYBACK),
        Parameter("buyback harvest stock", harvest_stock_tC_ha if harvest_stock_tC_ha is not None else
                  "stand density", "t C/ha", "normal", stock_u95,
                  "given" if harvest_stock_tC_ha is not None else
                  f"stand's measured density (forest carbon raster) or Fujian forest mean {FUJIAN_DENSITY_TC_HA} t C/ha "
                  f"(2014-2018 inventory); ±{stock_u95:.0%} zoning default", assumption=True, programme=BUYBACK),
        Parameter("buyback rotation", rotation_years if rotation_years is not None else "per forest type", "yr",
                  "normal", rotation_u95, "given" if rotation_years is not None else _ROTATION_NOTE,
                  assumption=rotation_years is None, programme=BUYBACK),
    ]
    return SinkSeries(0.0, years, eff, eff, acc.central["additional"], acc.cumulative["additional"],
                      acc.mc["additional"], acc.mc_cumulative["additional"], acc.a1["additional"],
                      acc.a1_cumulative["additional"], params, acc, acc.components["baseline"],
                      acc.components["project"], BUYBACK, [], note, per_cohort, per_cohort * clean_share[:, None])


def deduction_parameters(*, leakage: dict, leakage_u95: float, buffer: float, conservativeness) -> list[Parameter]:
    """Parameter rows of the deductions, with the methodology each follows."""
    rows = [
        Parameter("leakage share (forest management)", leakage[QUALITY], "share of gross additional", "fixed" if
                  leakage[QUALITY] == 0 else "normal", leakage_u95 if leakage[QUALITY] else 0.0,
                  f"{CCER_FM}: under its applicability conditions (existing forest kept as forest, no displacement of "
                  f"farming, grazing or fuelwood collection) project leakage is taken as 0" if leakage[QUALITY] == 0
                  else "user value", assumption=leakage[QUALITY] != 0, programme=QUALITY),
        Parameter("leakage share (buy-back, market)", leakage[BUYBACK], "share of gross additional", "normal",
                  leakage_u95, f"{VCS_AFOLU}: market leakage of projects that reduce timber harvest 10-70 % by where "
                  f"the harvest moves; 40 % chosen (merchantable stock of bought stands similar to the region's)",
                  assumption=True, programme=BUYBACK),
        Parameter("leakage share u95", leakage_u95, "share of the leakage share", "fixed", 0.0,
                  "zoning default: leakage is poorly known", assumption=True),
        Parameter("permanence buffer", buffer, "share of eligible net removals", "fixed", 0.0,
                  f"{VCS_AFOLU}: buffer = non-permanence risk score, at least 10 %; 10 % assumed without a "
                  f"project risk assessment", assumption=True),
    ]
    if conservativeness in (None, "none", "off", False):
        rows.append(Parameter("conservativeness DR", 0.0, "share", "fixed", 0.0, "switched off by the user"))
    elif conservativeness == "auto":
        rows.append(Parameter("conservativeness DR bands", "U90 ≤10 %: 0; ≤20 %: 6 %; ≤30 %: 11 %", "share", "fixed",
                              0.0, f"{CCER_AR}, {CCER_FM}: 精度控制与校正, 调减因子 DR (90 % confidence); bands "
                              f"transcribed, check them against the methodology version filed under"))
        rows.append(Parameter("conservativeness above 30 %", "DR = U90 (lower 90 % bound)", "share", "fixed", 0.0,
                              "zoning rule: the methodologies require more sampling above 30 %; until then only the "
                              "lower bound is counted", assumption=True))
    else:
        rows.append(Parameter("conservativeness DR", float(conservativeness), "share", "fixed", 0.0, "given by the user"))
    return rows


def curve_parameters(curves: dict[str, GrowthCurve]) -> list[Parameter]:
    rows = []
    for key, c in curves.items():
        for name, value, unit in (("A", c.A, "t C/ha"), ("k", c.k, "1/yr"), ("p", c.p, "-"),
                                  ("rotation", c.rotation, "yr"), ("default_age", c.default_age, "yr")):
            rows.append(Parameter(f"growth {key} {name}", value, unit, "fixed", 0.0, c.source, c.assumption))
    return rows


__all__ = ["Accounting", "BUYBACK_HA", "Component", "DEFAULT_SCHEDULE", "GROWTH_CURVES", "GrowthCurve", "Parameter",
           "ProgramError", "R_BASE", "SinkSeries", "account", "buyback_gain", "buyback_series", "dr_for",
           "read_schedule", "response", "sink_series"]
