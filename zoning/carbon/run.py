"""The forest programmes' estimate as one result object (no files: see zoning.export.carbon).

A run places the programmes (user stands, the catalog's ``program`` layer, or the selection
rule), guards against double counting (the ``registered_carbon`` layer), builds cohorts (stands
by treatment year), computes every scenario of the quality programme and the buy-back's avoided
harvest with their deductions and uncertainty, and reconciles the estimate with a stock
difference of two inventory rasters when both are given. Renderers read this object and
recompute nothing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from zoning.carbon.programme import (AREA_U95, BUFFER, BUYBACK_HA, CCER_FM, CO2_PER_C, COHORT_COLUMNS,
                                     DEFAULT_SCHEDULE, EMISSIONS_2020_TCO2, IPCC_2006, IPCC_2019,
                                     LEAKAGE, LEAKAGE_U95, R_BASE, RATE_U95, REPORT_YEARS, SEED_DOC, SERIES_KEYS,
                                     U95_CONVENTION, U95_CONVENTION_CHINESE, VCS_AFOLU, Parameter, SinkSeries,
                                     buyback_gain, buyback_series, check_number, check_rate, check_share, check_year,
                                     curve_parameters, deduction_parameters, read_growth_curves, read_schedule,
                                     schedule_cohorts, sink_series)
from zoning.carbon.selection import (BUYBACK, QUALITY, Selection, overlap_ha, read_quota, read_stands,
                                     registered_overlaps, select_by_rule, stands_selection)
from zoning.errors import ProgramError, ZoningError
from zoning.io.layerset import LayerSet

#: the stock-difference estimate's input uncertainty (each inventory's total stock, 95 % half-width)
STOCK_U95 = 0.10
METHODOLOGY = {
    "name": "CCER 森林经营碳汇项目方法学 (AR-CM-003-V01) style, with the buy-back as avoided harvest (IFM)",
    "follows": [CCER_FM, IPCC_2006, IPCC_2019, VCS_AFOLU],
    "equations": {
        "gross additional": "ΔS_t = Σ_c (P_c,t − B_c,t) = Σ_c A_c·(r_target − r_base)·g_c(t)",
        "leakage": "L_t = λ·max(ΔS_t, 0)",
        "net": "N_t = ΔS_t − L_t",
        "eligible": "E_t = N_t of stands not on a registered carbon project",
        "conservativeness": "C_t = DR·max(E_t, 0), DR from the uncertainty (CCER 调减因子)",
        "buffer": "F_t = b·max(E_t − C_t, 0)",
        "creditable": "E_t − C_t − F_t",
    },
}


@dataclass
class ProgramResult:
    target_ha: float
    schedule: dict[int, float]
    series: dict[str, SinkSeries]  # scenario label -> quality series; first one is the primary
    quality: Selection
    buyback: Selection | None
    buyback_gain: dict
    overlap_ha: float
    synthetic: bool
    options: dict = field(default_factory=dict)
    cohorts: pd.DataFrame | None = None  # quality cohorts (COHORT_COLUMNS + stand_id)
    buyback_cohorts: pd.DataFrame | None = None
    buyback_series: SinkSeries | None = None
    registered: pd.DataFrame | None = None  # overlaps with registered carbon projects
    registered_status: str = "not checked"
    reconciliation: dict | None = None
    warnings: list[str] = field(default_factory=list)
    extra_parameters: list[Parameter] = field(default_factory=list)
    stands_source: str = "rule"

    @property
    def primary(self) -> SinkSeries:
        return next(iter(self.series.values()))

    @property
    def treated_ha(self) -> float:
        return float(self.cohorts["area_ha"].sum()) if self.cohorts is not None else float(sum(self.schedule.values()))

    def county_shares(self) -> pd.DataFrame:
        bc = self.quality.by_county
        total = bc["selected_ha"].sum()
        return bc.assign(share=bc["selected_ha"] / total if total else 0.0)

    # ------------------------------------------------------------------ tables
    def annual_table(self) -> pd.DataFrame:
        """One row per scenario (and the buy-back) and year, every series in t CO2."""
        frames = [pd.DataFrame(annual_rows(s, programme=QUALITY)) for s in self.series.values()]
        if self.buyback_series is not None:
            frames.append(pd.DataFrame(annual_rows(self.buyback_series, programme=BUYBACK)))
        table = pd.concat(frames, ignore_index=True)
        table["u_convention"] = "95% CI half-width (IPCC 2006 Vol.1 Ch.3)"
        return table

    def _grouped(self, key: str) -> pd.DataFrame:
        rows = []
        sets = [(f"{s.r_target:.2f}", QUALITY, s, self.cohorts) for s in self.series.values()]
        if self.buyback_series is not None:
            sets.append(("buyback", BUYBACK, self.buyback_series, self.buyback_cohorts))
        for label, programme, s, cohorts in sets:
            if cohorts is None or s.cohort_series is None:
                continue
            acc = s.accounting
            total = s.annual
            clean_total = s.cohort_clean.sum(axis=0)
            with np.errstate(divide="ignore", invalid="ignore"):
                net_ratio = np.where(total != 0, acc.central["net"] / total, 1.0)
                cred_ratio = np.where(clean_total != 0, acc.central["creditable"] / clean_total, 0.0)
            keys = cohorts[key].fillna("—").astype(str).to_numpy() if key in cohorts else np.full(len(cohorts), "—")
            names = cohorts["county"].fillna("—").astype(str).to_numpy() if key == "county_code" else keys
            years_of = cohorts["year"].to_numpy()
            for k in dict.fromkeys(keys):
                m = keys == k
                add = s.cohort_series[m].sum(axis=0)
                clean = s.cohort_clean[m].sum(axis=0)
                area = cohorts["area_ha"].to_numpy()[m]
                rows.append(pd.DataFrame({
                    "programme": programme, "scenario": label, "scenario_r_target": s.r_target if programme == QUALITY
                    else np.nan, "year": s.years, key: k, **({"county": names[m][0]} if key == "county_code" else {}),
                    "treated_area_ha": [area[years_of[m] <= t].sum() for t in s.years],
                    "additional_tCO2": add, "cumulative_tCO2": np.cumsum(add), "net_tCO2": add * net_ratio,
                    "creditable_tCO2": clean * cred_ratio, "cumulative_creditable_tCO2": np.cumsum(clean * cred_ratio)}))
        return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()

    def county_table(self) -> pd.DataFrame:
        """Per county and year: treated area (ha), additional, net and creditable removals (t CO2)."""
        return self._grouped("county_code")

    def type_table(self) -> pd.DataFrame:
        """Per forest type (杉木, 马尾松, 阔叶林 …) and year, as :meth:`county_table`."""
        return self._grouped("forest_type")

    def cohort_table(self) -> pd.DataFrame:
        """The cohorts: programme, county, forest type, age class, treatment year, area (ha), registered area (ha)."""
        frames = [c for c in (self.cohorts, self.buyback_cohorts) if c is not None]
        if not frames:
            return pd.DataFrame(columns=COHORT_COLUMNS)
        table = pd.concat(frames, ignore_index=True)
        table["age_class"] = [age_class(a) for a in table["age"]]
        group = ["programme", "county_code", "county", "forest_type", "age_class", "year"]
        return table.groupby(group, dropna=False)[["area_ha", "registered_ha"]].sum().reset_index()

    def parameter_table(self) -> pd.DataFrame:
        seen, rows = set(), []
        params = [p for s in self.series.values() for p in s.parameters]
        if self.buyback_series is not None:
            params += self.buyback_series.parameters
        params += self.extra_parameters
        for p in params:
            key = (p.name, str(p.value))
            if key not in seen:
                seen.add(key)
                rows.append(p.record())
        rows.append(Parameter("buyback_area", self.buyback_gain["area_ha"], "ha", "normal", AREA_U95,
                              f"{SEED_DOC} 五、（五）: 1.67 万公顷" if self.stands_source == "rule" else
                              "the buy-back stands", programme=BUYBACK).record())
        rows.append(Parameter("quality_target", self.target_ha, "ha", "fixed", 0.0,
                              f"{SEED_DOC} 五、（五）: 3 万公顷", programme=QUALITY).record())
        rows.append(Parameter("CO2/C", round(CO2_PER_C, 6), "t CO2 / t C", "fixed", 0.0,
                              "molecular weights 44/12 (IPCC 2006)").record())
        return pd.DataFrame(rows)

    def stand_table(self) -> pd.DataFrame:
        """Every stand with its programme, county, type, age, area and whether it is creditable."""
        frames = []
        for sel in (self.quality, self.buyback):
            if sel is None or sel.stands is None or len(sel.stands) == 0:
                continue
            st = pd.DataFrame(sel.stands.drop(columns=sel.stands.geometry.name))
            if "stand_id" not in st:
                st.insert(0, "stand_id", st["id"].astype(str) if "id" in st else range(1, len(st) + 1))
            st["programme"] = sel.program
            frames.append(st)
        if not frames:
            return pd.DataFrame()
        table = pd.concat(frames, ignore_index=True)
        excluded = set()
        if self.registered is not None and len(self.registered):
            excluded = set(zip(self.registered.loc[self.registered["excluded"], "stand_id"].astype(str),
                               self.registered.loc[self.registered["excluded"], "programme"]))
        table["registered_overlap"] = [(str(i), p) in excluded for i, p in zip(table["stand_id"], table["programme"])]
        table["creditable"] = ~table["registered_overlap"]
        for column in table.columns:  # whole numbers (林龄, 实施年度 …) stay whole: 26, not 26.0
            if table[column].dtype.kind == "f" and not str(column).endswith(("_ha", "_tC", "_tCO2", "_share", "_m2")):
                values = table[column].dropna()
                if len(values) and np.isfinite(values).all() and (values == values.round()).all() \
                        and values.abs().max() < 2 ** 53:
                    table[column] = table[column].astype("Int64")
        first = [c for c in ("stand_id", "programme", "county_code", "county", "forest_type", "age", "year", "area_ha",
                             "registered_overlap", "creditable") if c in table]
        return table[first + [c for c in table.columns if c not in first]]

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict:
        """The program.json content, strict-JSON safe itself: NaN/±Infinity -> None, numpy -> Python
        (``json.dumps(result.to_dict(), allow_nan=False)`` works)."""
        return _strict(self._raw_dict())

    def _raw_dict(self) -> dict:
        p = self.primary
        rows = annual_rows(p, programme=QUALITY)
        last = int(self.cohorts["year"].max()) if self.cohorts is not None else max(self.schedule)
        full_row = next((r for r in rows if r["year"] == last), rows[-1])
        area = self.treated_ha
        scenarios = {}
        for label, s in self.series.items():
            scenarios[label] = {"r_target": s.r_target, "annual": annual_rows(s, programme=QUALITY),
                                "negative": s.negative, "label": sink_label(s), "warnings": s.warnings,
                                "uncertainty": uncertainty_dict(s),
                                "deductions": deductions_dict(s)}
        bb = dict(self.buyback_gain)
        bb.update({"selection": _selection_dict(self.buyback, self.options.get("min_stand_ha")) if self.buyback
                   else None, "overlap_with_quality_ha": self.overlap_ha,
                   "double_counting": "overlapping area is counted once, in the quality programme; the buy-back "
                                      "uses the remaining area"})
        if self.buyback_series is not None:
            bs = self.buyback_series
            bb.update({"annual": annual_rows(bs, programme=BUYBACK), "uncertainty": uncertainty_dict(bs),
                       "deductions": deductions_dict(bs), "label": sink_label(bs),
                       "method": "avoided harvest: the baseline harvests each stand at its rotation age (intensity h) "
                                 "and regrows it; the project keeps it (IFM, VCS/CCER style)"})
        return {
            "program": QUALITY, "target_ha": self.target_ha, "treated_ha": area, "r_base": self.options.get("r_base",
                                                                                                          R_BASE),
            "scenario": p.r_target, "growth": p.growth,
            "schedule": [{"year": int(y), "area_ha": float(a)} for y, a in self.schedule.items()],
            "annual": rows,
            "milestones": {str(y): next(r for r in rows if r["year"] == y) for y in REPORT_YEARS
                           if y in set(p.years.tolist())},
            "full_area_check": {"area_ha": area, "year": last,
                                "annual_tCO2_at_full_area": full_row["additional_tCO2"],
                                "formula": f"{area:,.2f} ha × ({p.r_target} − {self.options.get('r_base', R_BASE)}) "
                                           f"t CO2/ha/yr" + ("" if p.growth.get("growth") == "plan" else
                                                             " × g (growth curves)"),
                                "deductions": "none: gross additional sink"},
            "scenarios": scenarios,
            "parameters": self.parameter_table().to_dict("records"),
            "uncertainty": {
                "convention": U95_CONVENTION, "convention_zh": U95_CONVENTION_CHINESE,
                "approach_1": {"method": "IPCC Approach 1: first-order error propagation (IPCC 2006 Vol. 1 Ch. 3 "
                                         "Eq. 3.1/3.2); rates, area and leakage independent",
                               "relative_u95": {label: s.u95 for label, s in self.series.items()}},
                "approach_2": {"method": "IPCC Approach 2: Monte Carlo", "draws": self.options.get("draws"),
                               "seed": self.options.get("seed")},
                "agreement": {label: approach_agreement(s) for label, s in self.series.items()},
                "note": "the additional sink is a small difference of two uncertain rates, so its relative "
                        "uncertainty is several times that of either rate"},
            "accounting": {**METHODOLOGY, "deductions": deductions_dict(p),
                           "leakage_justification": {
                               QUALITY: self.options.get("leakage_note_quality"),
                               BUYBACK: "market leakage: harvest avoided here is partly made up elsewhere"}},
            "double_counting": {"layer": self.registered_status,
                                "excluded_stands": [] if self.registered is None else
                                self.registered[self.registered["excluded"]].drop(columns=["_pos"], errors="ignore")
                                .to_dict("records"),
                                "excluded_area_ha": float(self.cohorts["registered_ha"].sum())
                                if self.cohorts is not None else 0.0,
                                "rule": "a stand overlapping a registered carbon project (CCER/FFCER/林业碳票) by more "
                                        "than 1 m² is excluded from creditable removals (still counted in gross/net)"},
            "stands": {"source": self.stands_source, "count": int(len(self.quality.stands)),
                       "area_ha": area, "by_county": _records(self.county_summary()),
                       "by_type": _records(self.type_summary())},
            "cohorts": _records(self.cohort_table()),
            "reconciliation": self.reconciliation,
            "curve": {"plateau_years": self.options.get("plateau_years"),
                      "saturation_years": self.options.get("saturation_years"), **p.growth},
            "selection": _selection_dict(self.quality, self.options.get("min_stand_ha")),
            "buyback": bb,
            "context": {"emissions_2020_tCO2": EMISSIONS_2020_TCO2,
                        "source": f"{SEED_DOC} 一、（一）: 2020 年二氧化碳排放 1075 万吨"},
            "warnings": self.warnings,
            "synthetic": self.synthetic,
        }

    def county_summary(self) -> pd.DataFrame:
        c = self.cohorts
        if c is None:
            return pd.DataFrame()
        return c.groupby(["county_code", "county"], dropna=False)[["area_ha", "registered_ha"]].sum().reset_index()

    def type_summary(self) -> pd.DataFrame:
        c = self.cohorts
        if c is None:
            return pd.DataFrame()
        return c.groupby(["forest_type"], dropna=False)[["area_ha", "registered_ha"]].sum().reset_index()


def _records(frame: pd.DataFrame) -> list[dict]:
    return frame.to_dict("records") if frame is not None and len(frame) else []


def age_class(age) -> str:
    """10-year age class of a stand ("0-9", "10-19" …), "unknown" without an age."""
    if age is None or not math.isfinite(float(age)):
        return "unknown"
    lo = int(float(age) // 10 * 10)
    return f"{lo}-{lo + 9}"


def sink_label(s: SinkSeries) -> str:
    if s.negative:
        return "NEGATIVE additional sink (scenario below baseline): the programme would reduce removals / 额外碳汇为负"
    return "additional sink (project − baseline)"


def deductions_dict(s: SinkSeries) -> dict:
    acc = s.accounting
    return {"leakage_share": acc.leakage_share, "buffer_share": acc.buffer_share, "conservativeness_dr": acc.dr,
            "conservativeness_note": acc.dr_note,
            "u95_of_cumulative": acc.u95_total,
            "cumulative_to_horizon_tCO2": {k: float(acc.cumulative[k][-1]) for k in SERIES_KEYS}}


def uncertainty_dict(s: SinkSeries) -> dict:
    acc = s.accounting
    return {"convention": U95_CONVENTION, "approach_1_relative_u95": acc.u95_total,
            "approach_2": {"percentiles": "P2.5/P50/P97.5"}, "agreement": approach_agreement(s)}


def approach_agreement(s: SinkSeries) -> dict:
    """Approach 1 and 2 half-widths of the gross annual sink at the last year, relative to the value.

    Approach 1 is adequate while the relative uncertainty is moderate (IPCC 2006 Vol. 1 Ch. 3: sd/mean
    below about 0.3, i.e. a 95 % half-width below about 60 %); beyond that, Approach 2 is the one to use.
    """
    acc = s.accounting
    x = float(acc.central["additional"][-1])
    if x == 0:
        return {"approach_1": None, "approach_2": None, "ratio": None, "approach_1_adequate": False}
    a1 = float(acc.u95["additional"][-1])
    mc = acc.mc["additional"]
    a2 = float((mc["p97_5"][-1] - mc["p2_5"][-1]) / 2 / abs(x))
    return {"approach_1": a1, "approach_2": a2, "ratio": a2 / a1 if a1 else None, "approach_1_adequate": a1 < 0.6}


def annual_rows(s: SinkSeries, *, programme: str) -> list[dict]:
    """The JSON/CSV rows of one series: today's keys (year, treated_area_ha, additional_tCO2,
    cumulative_tCO2, p2_5, p50, p97_5 …) for the gross additional sink, then the scenarios'
    removals and every deduction (``leakage_tCO2``, ``buffer_tCO2``, ``conservativeness_tCO2``,
    ``net_tCO2``, ``creditable_tCO2``) with their Approach 1 and 2 ranges."""
    acc = s.accounting
    rows = []
    for i, year in enumerate(s.years):
        row = {"programme": programme, "scenario_r_target": s.r_target if programme == QUALITY else None,
               "year": int(year), "treated_area_ha": float(s.treated_ha[i]), "effective_area_ha": float(s.effective_ha[i]),
               "baseline_tCO2": float(s.baseline[i]), "project_tCO2": float(s.project[i]),
               "additional_tCO2": float(s.annual[i]), "cumulative_tCO2": float(s.cumulative[i]),
               "p2_5": float(s.mc_annual["p2_5"][i]), "p50": float(s.mc_annual["p50"][i]),
               "p97_5": float(s.mc_annual["p97_5"][i]),
               "cumulative_p2_5": float(s.mc_cumulative["p2_5"][i]), "cumulative_p50": float(s.mc_cumulative["p50"][i]),
               "cumulative_p97_5": float(s.mc_cumulative["p97_5"][i]),
               "approach1_p2_5": _num(s.a1_annual["p2_5"][i]), "approach1_p97_5": _num(s.a1_annual["p97_5"][i]),
               "approach1_u95": _num(acc.u95["additional"][i]),
               "approach1_u95_tCO2": _num(acc.u95_abs["additional"][i]) if "additional" in acc.u95_abs else None,
               "share_of_2020_emissions": float(s.annual[i] / EMISSIONS_2020_TCO2),
               "sign": "negative" if s.annual[i] < 0 else "positive" if s.annual[i] > 0 else "zero"}
        for key in ("leakage", "net", "registered_excluded", "conservativeness", "buffer", "creditable"):
            row[f"{key}_tCO2"] = float(acc.central[key][i])
            row[f"cumulative_{key}_tCO2"] = float(acc.cumulative[key][i])
            for q in ("p2_5", "p50", "p97_5"):
                row[f"{key}_{q}"] = float(acc.mc[key][q][i])
            row[f"{key}_approach1_p2_5"] = _num(acc.a1[key]["p2_5"][i])
            row[f"{key}_approach1_p97_5"] = _num(acc.a1[key]["p97_5"][i])
        rows.append(row)
    return rows


def _strict(obj):
    """``obj`` with NaN/±Infinity/NA as None and numpy scalars/arrays as Python values."""
    if isinstance(obj, dict):
        return {k: _strict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_strict(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_strict(v) for v in obj.tolist()]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(float(obj)) else None
    if obj is pd.NA or obj is pd.NaT:
        return None
    return obj


def _num(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _selection_dict(sel: Selection | None, min_stand_ha: float | None) -> dict | None:
    if sel is None:
        return None
    stands = sel.stands
    mean = None
    if "stock_tC" in stands and "forest_ha" in stands and stands["forest_ha"].sum() > 0:
        mean = float(stands["stock_tC"].sum() / stands["forest_ha"].sum())
    return {"program": sel.program, "source": sel.source, "target_ha": sel.target_ha, "selected_ha": sel.selected_ha,
            "match": sel.match, "stands": int(len(stands)),
            "min_stand_ha": min_stand_ha if sel.source == "rule" else None,
            "by_county": sel.by_county.to_dict("records"), "mean_tC_ha": mean}


def _spread(stands: pd.DataFrame, programme: str, shares: dict[int, float]) -> pd.DataFrame:
    """Cohorts of user stands: a stand with a treatment year is one cohort; one without is spread over
    the schedule's years by their shares (so the schedule's phase-in applies to the stands' area)."""
    rows = []
    for st in stands.itertuples(index=False):
        registered = bool(getattr(st, "registered", False))
        years = {int(st.year): 1.0} if math.isfinite(st.year) else shares
        for year, share in years.items():
            a = float(st.area_ha) * share
            rows.append({"programme": programme, "county_code": st.county_code, "county": st.county,
                         "forest_type": st.forest_type, "age": st.age, "year": year, "area_ha": a,
                         "registered_ha": a if registered else 0.0,
                         "stock_tC_ha": getattr(st, "stock_tC_ha", np.nan), "stand_id": st.stand_id})
    return pd.DataFrame(rows, columns=COHORT_COLUMNS + ["stand_id"])


def _shares(schedule: dict[int, float]) -> dict[int, float]:
    total = sum(schedule.values())
    return {y: a / total for y, a in schedule.items() if a > 0}


def _measure_density(stands: gpd.GeoDataFrame, raster: Path | None) -> np.ndarray:
    """Mean density (t C/ha of the stand's measured area) per stand from the carbon raster; NaN where unknown."""
    from zoning.carbon.density import stock

    out = np.full(len(stands), np.nan)
    if raster is None or len(stands) == 0 or not stands.geometry.notna().any():
        return out
    try:
        measured = stock(stands[[stands.geometry.name]].set_geometry(stands.geometry.name), raster, workers=1,
                         attributes=False)
    except ZoningError:
        return out
    valid = measured["valid_ha"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(valid > 0, measured["stock_tC"].to_numpy() / valid, np.nan)


def reconcile(stands: gpd.GeoDataFrame, cohorts: pd.DataFrame, series: SinkSeries, *, raster_before, raster_after,
              year_before: int | None, year_after: int | None, r_base: float, units: str | None = None,
              stock_u95: float = STOCK_U95, rate_u95: float = RATE_U95, area_u95: float = AREA_U95) -> dict:
    """The stock-difference estimate of the stands' removals (IPCC 2006 Vol. 4 Eq. 2.5) from two inventory
    rasters beside the gain-loss estimate of the same stands and years (Eq. 2.4: baseline removals of every
    stand plus the programme's additional removals of the treated ones), with both uncertainties."""
    from zoning.carbon.density import stock_change

    if len(stands) == 0 or not stands.geometry.notna().any():
        raise ProgramError("存量差法需要有几何的林分", "the stock-difference check needs stands with geometry")
    table, meta = stock_change(stands, raster_before, raster_after, units=units, year_before=year_before,
                               year_after=year_after, workers=1)
    y0, y1 = meta["year_before"], meta["year_after"]
    if y0 is None or y1 is None:
        raise ProgramError("存量差法需要两期栅格的年份：请给出 --year-before 与 --year-after",
                           "the stock difference needs the years of both rasters: pass --year-before and --year-after")
    full = table["change_tC"].notna().to_numpy()
    area = stands["area_ha"].to_numpy(dtype="float64")
    covered_area = float(area[full].sum())
    s0 = float(table.loc[full, "stock_before_tC"].sum())
    s1 = float(table.loc[full, "stock_after_tC"].sum())
    sd = (s1 - s0) * CO2_PER_C / (y1 - y0)
    u_sd = math.hypot(stock_u95 * s0, stock_u95 * s1) * CO2_PER_C / (y1 - y0) / abs(sd) if sd else math.inf
    # gain-loss: every stand sinks at the baseline rate; treated stands add the programme's additional removals
    share = covered_area / float(area.sum()) if area.sum() > 0 else 0.0
    period = [t for t in range(y0 + 1, y1 + 1)]
    add = np.array([float(series.annual[series.years == t][0]) if t in set(series.years.tolist()) else 0.0
                    for t in period])
    gl = r_base * covered_area + float(add.mean()) * share if period else 0.0
    u_gl = math.hypot(rate_u95, area_u95)
    diff = sd - gl
    combined = math.hypot(u_sd * abs(sd) if math.isfinite(u_sd) else math.inf, u_gl * abs(gl))
    return {"method": "stock difference (IPCC 2006 Vol. 4 Eq. 2.5) vs gain-loss (Eq. 2.4)", **meta,
            "stands_compared": int(full.sum()), "stands_not_fully_covered": int((~full).sum()),
            "area_compared_ha": covered_area,
            "stock_before_tC": s0, "stock_after_tC": s1,
            "stock_difference_tCO2_per_yr": sd, "stock_difference_u95": u_sd if math.isfinite(u_sd) else None,
            "gain_loss_tCO2_per_yr": gl, "gain_loss_u95": u_gl,
            "difference_tCO2_per_yr": diff, "relative_difference": diff / gl if gl else None,
            "combined_u95_tCO2_per_yr": combined if math.isfinite(combined) else None,
            "combined_u95_relative": combined / abs(gl) if gl and math.isfinite(combined) else None,
            "consistent": bool(math.isfinite(combined) and abs(diff) <= combined),
            "note": f"each inventory total ±{stock_u95:.0%} (95 %), taken as independent; the two estimates agree "
                    f"when their difference is within the combined 95 % half-width"}


def run_program(layers: LayerSet, *, scenarios=(2.77, 3.86), target_ha: float = 30_000.0, schedule_path=None,
                quota_path=None, min_stand_ha: float = 5.0, buyback_ha: float = BUYBACK_HA, rotation_years=None,
                harvest_stock_tC_ha=None, draws: int = 10_000, seed: int = 20211025, plateau_years=None,
                saturation_years=None, horizon: int = 2060, stands=None, id_field: str | None = None,
                stands_layer: str | None = None, stands_crs=None, growth: str = "plan", growth_curves=None,
                r_base: float = R_BASE, rate_u95: float = RATE_U95, area_u95: float = AREA_U95,
                leakage_quality: float = LEAKAGE[QUALITY], leakage_buyback: float = LEAKAGE[BUYBACK],
                leakage_u95: float = LEAKAGE_U95, buffer: float = BUFFER, conservativeness="auto",
                harvest_intensity: float = 1.0, raster_before=None, raster_after=None, year_before=None,
                year_after=None, stock_u95: float = STOCK_U95, engine: str = "pyogrio") -> ProgramResult:
    """Place the programmes, then compute every scenario with its deductions and uncertainty."""
    from zoning.io.catalog import load_layer

    scenarios = tuple(check_rate(r, "--scenario") for r in scenarios)
    if not scenarios:
        raise ProgramError("至少需要一个情景", "at least one scenario is needed")
    r_base = check_rate(r_base, "r_base")
    # every option checked here, whichever branch runs below (the CLI relies on these: one bilingual line)
    for value, name in ((rate_u95, "--rate-u95"), (area_u95, "--area-u95"), (leakage_u95, "leakage u95"),
                        (stock_u95, "stock u95"), (leakage_quality, "--leakage-quality"),
                        (leakage_buyback, "--leakage-buyback"), (buffer, "--buffer"),
                        (harvest_intensity, "--harvest-intensity")):
        check_share(value, name)
    if conservativeness not in (None, False, "auto", "none", "off"):
        check_share(conservativeness, "--conservativeness")
    for value, name, low, high in ((draws, "--draws", 100, 10_000_000), (seed, "--seed", 0, 2 ** 63 - 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
            raise ProgramError(f"{name} = {value} 须为 {low}–{high} 之间的整数",
                               f"{name} = {value} must be a whole number between {low} and {high}")
    for value, name in ((year_before, "--year-before"), (year_after, "--year-after")):
        if value is not None:
            check_year(value, name)
    target_ha = check_number(target_ha, "--target-ha", low_open=True)
    buyback_ha = check_number(buyback_ha, "--buyback-ha")
    min_stand_ha = check_number(min_stand_ha, "--min-stand-ha")
    for value, name, open_ in ((rotation_years, "--harvest-rotation", True), (harvest_stock_tC_ha, "--harvest-stock", False),
                               (plateau_years, "--plateau-years", False), (saturation_years, "--saturation-years", True)):
        if value is not None:
            check_number(value, name, low_open=open_)
    horizon = check_year(horizon, "终止年份 horizon")
    if growth not in ("plan", "curve"):
        raise ProgramError(f"未知生长模型 {growth!r}", f"unknown growth model {growth!r}; use plan or curve")
    curves = read_growth_curves(growth_curves)
    warnings: list[str] = []
    schedule = read_schedule(schedule_path)
    if schedule_path is None and target_ha != 30_000.0:
        schedule = {y: target_ha / 5 for y in range(2021, 2026)}
    if horizon < min(schedule):
        raise ProgramError(f"终止年份 {horizon} 早于首个实施年份 {min(schedule)}",
                           f"horizon {horizon} is before the first treatment year {min(schedule)}")
    admin = layers.frames.get("admin")
    raster_spec = layers.catalog.by_role("forest_carbon")
    raster = raster_spec[0].path if raster_spec else None
    # --- where the programmes fall --------------------------------------------------------------
    has_layer = "program" in layers.frames and layers.info["program"].status == "ok"
    stand_frame = None
    if stands is not None:
        stand_frame, notes = read_stands(stands, id_field=id_field, layer=stands_layer, crs=stands_crs,
                                         engine=engine, admin=admin)
        source = "file"
        warnings += notes
    elif has_layer:
        stand_frame, notes = read_stands(load_layer(layers.catalog.one("program"), engine=engine), admin=admin,
                                         id_field=id_field)
        source = "layer"
        warnings += notes
    else:
        source = "rule"
    if stand_frame is not None:
        if quota_path is not None:
            warnings.append("给出了林分，配额文件不再使用 / stands given: the quota file is not used")
        if (stand_frame["programme"] == QUALITY).sum() == 0:
            raise ProgramError("林分中没有森林质量精准提升的林分", f"the stands hold no {QUALITY} (quality) stands")
        stand_frame["stock_tC_ha"] = _measure_density(stand_frame, raster)
        quality = stands_selection(stand_frame, program=QUALITY, target_ha=target_ha, source=source)
        buyback = stands_selection(stand_frame, program=BUYBACK, target_ha=buyback_ha, source=source) \
            if (stand_frame["programme"] == BUYBACK).any() else None
    else:
        if raster is None:
            raise ProgramError("目录中没有森林碳密度图层，无法按规则选择林分；请用 --stands 给出林分",
                               "the catalog has no forest_carbon layer to select stands by rule; pass --stands")
        quota = read_quota(quota_path, admin) if quota_path else None
        quality = select_by_rule(layers, raster, program=QUALITY, target_ha=target_ha, min_stand_ha=min_stand_ha,
                                 quota=quota)
        buyback = select_by_rule(layers, raster, program=BUYBACK, target_ha=buyback_ha, min_stand_ha=min_stand_ha)
        for sel in (quality, buyback):
            sel.stands.insert(0, "stand_id", sel.stands["id"].astype(str))
            sel.stands["programme"] = sel.program
    overlap = overlap_ha(quality, buyback) if buyback is not None else 0.0
    # --- double counting: registered carbon projects ----------------------------------------------
    registered = None
    reg_status = "no registered_carbon layer in the catalog: double registration NOT checked"
    if layers.catalog.by_role("registered_carbon"):
        try:
            reg_frame = load_layer(layers.catalog.one("registered_carbon"), engine=engine)
            parts = [registered_overlaps(sel.stands, reg_frame) for sel in (quality, buyback) if sel is not None]
            registered = pd.concat(parts, ignore_index=True) if parts else None
            reg_status = (f"checked against {layers.catalog.one('registered_carbon').name} "
                          f"({len(reg_frame)} registered parcels)")
        except ZoningError as exc:
            reg_status = f"registered_carbon layer failed: {exc.en}; double registration NOT checked"
    if "NOT checked" in reg_status:
        warnings.append(f"重复计算未核查 / double counting not checked: {reg_status}")
    excluded = {} if registered is None else {
        (str(s), p) for s, p in zip(registered.loc[registered["excluded"], "stand_id"],
                                    registered.loc[registered["excluded"], "programme"])}
    for sel in (quality, buyback):
        if sel is not None:
            sel.stands["registered"] = [(str(s), sel.program) in excluded for s in sel.stands["stand_id"]]
    if excluded:
        warnings.append(f"{len(excluded)} 个林分与已登记碳汇项目重叠，已从可签发量中剔除 / {len(excluded)} stand(s) "
                        f"overlap registered carbon projects and are excluded from creditable removals")
    # --- cohorts --------------------------------------------------------------------------------
    shares = _shares(schedule)
    if stand_frame is not None:
        cohorts = _spread(quality.stands, QUALITY, shares)
        if schedule_path is not None:
            total = float(quality.stands["area_ha"].sum())
            if abs(sum(schedule.values()) - total) > 0.01 * total:
                warnings.append(f"进度表总面积 {sum(schedule.values()):,.0f} ha 与林分面积 {total:,.0f} ha 不符，按进度表的年度"
                                f"比例分配林分面积 / the schedule's {sum(schedule.values()):,.0f} ha differ from the stands' "
                                f"{total:,.0f} ha: the schedule's yearly shares are applied to the stands")
        bb_cohorts = _spread(buyback.stands, BUYBACK, _shares(DEFAULT_SCHEDULE)) if buyback is not None else None
        bb_area = float(buyback.stands["area_ha"].sum()) - overlap if buyback is not None else buyback_ha
    else:
        st = quality.stands
        reg_share = {}
        if registered is not None and len(registered):
            reg_area = st.loc[st["registered"], ["county_code", "area_ha"]].groupby("county_code")["area_ha"].sum()
            all_area = st.groupby("county_code")["area_ha"].sum()
            reg_share = (reg_area / all_area).fillna(0.0).to_dict()
        cohorts = schedule_cohorts(schedule, quality.by_county.assign(
            share=quality.by_county["selected_ha"] / max(quality.by_county["selected_ha"].sum(), 1e-9)),
            registered_share=reg_share)
        cohorts["stand_id"] = None
        bb_area = max(buyback_ha - overlap, 0.0)
        bb_cohorts = None
        if buyback is not None and len(buyback.stands):
            bb_reg = {}
            if registered is not None and len(registered):
                bst = buyback.stands
                bb_reg = (bst.loc[bst["registered"]].groupby("county_code")["area_ha"].sum()
                          / bst.groupby("county_code")["area_ha"].sum()).fillna(0.0).to_dict()
            sched_bb = {y: bb_area * s for y, s in _shares(DEFAULT_SCHEDULE).items()}
            bb_cohorts = schedule_cohorts(sched_bb, buyback.by_county.assign(
                share=buyback.by_county["selected_ha"] / max(buyback.by_county["selected_ha"].sum(), 1e-9)),
                programme=BUYBACK, registered_share=bb_reg)
            bb_cohorts["stock_tC_ha"] = _selection_density(buyback)
            bb_cohorts["stand_id"] = None
    if stand_frame is not None:  # the schedule the stands make: treated area per year
        schedule = {int(y): float(a) for y, a in cohorts.groupby("year")["area_ha"].sum().items()}
    # --- the quality programme ------------------------------------------------------------------
    series = {}
    for r in scenarios:
        s = sink_series(None, float(r), r_base=r_base, horizon=horizon, draws=draws, seed=seed,
                        plateau_years=plateau_years, saturation_years=saturation_years, rate_u95=rate_u95,
                        area_u95=area_u95, cohorts=cohorts, growth=growth, curves=curves, leakage=leakage_quality,
                        leakage_u95=leakage_u95, buffer=buffer, conservativeness=conservativeness)
        series[f"{r:.2f}"] = s
        warnings += s.warnings
    # --- the buy-back -----------------------------------------------------------------------------
    density = harvest_stock_tC_ha
    if rotation_years is not None and density is None:
        density = _selection_density(buyback) if buyback is not None else None
        density = density if density is not None and math.isfinite(density) else 39.86
    gain = buyback_gain(bb_area, rotation_years=rotation_years,
                        harvest_stock_tC_ha=density if rotation_years is not None else None, r_base=r_base,
                        intensity=harvest_intensity)
    bb_series = None
    has_ages = bb_cohorts is not None and bb_cohorts["age"].notna().any()
    if bb_cohorts is not None and len(bb_cohorts) and (rotation_years is not None or has_ages):
        bb_series = buyback_series(bb_cohorts, horizon=horizon, r_base=r_base, rotation_years=rotation_years,
                                   harvest_stock_tC_ha=harvest_stock_tC_ha, intensity=harvest_intensity,
                                   growth=growth, curves=curves, area_u95=area_u95, rate_u95=rate_u95,
                                   leakage=leakage_buyback, leakage_u95=leakage_u95, buffer=buffer,
                                   conservativeness=conservativeness, draws=draws, seed=seed)
        gain["additional"] = True
        years_bb = [int(y) for y in bb_series.years]
        add_bb = np.asarray(bb_series.accounting.central["additional"], dtype="float64")
        gain["avoided_harvest_series_key"] = "annual"
        if rotation_years is None:  # the baseline comes from the stands' ages and per-type rotations
            gain["avoided_harvest_tCO2_per_yr"] = _num(float(add_bb.mean())) if len(add_bb) else None
            gain["avoided_harvest_basis"] = (f"mean of the annual avoided-harvest series {years_bb[0]}-{years_bb[-1]} "
                                             "(baseline: harvest at each stand's rotation age from its age and forest "
                                             "type)") if years_bb else None
            gain["note"] = ("harvest baseline from stand ages and per-type rotations: the avoided harvest is "
                            "additional; see annual for the series by year")
        else:
            gain["avoided_harvest_basis"] = "steady state A / rotation × intensity × harvested stock × 44/12"
            gain["note"] = ("harvest baseline from --harvest-rotation: the avoided harvest is additional; "
                            "see annual for the series by year")
    elif buyback is not None or bb_cohorts is None:
        warnings.append("商品林赎买没有采伐基线（--harvest-rotation 或林龄）：只报告总碳汇，不计额外量 / buy-back has no "
                        "harvest baseline (--harvest-rotation or stand ages): only its gross sink is reported, not "
                        "additional")
    # --- reconciliation ---------------------------------------------------------------------------
    reconciliation = None
    if (raster_before is None) != (raster_after is None):
        raise ProgramError("存量差法需要同时给出 --raster-before 和 --raster-after",
                           "the stock difference needs both --raster-before and --raster-after")
    if raster_after is not None:
        reconciliation = reconcile(quality.stands, cohorts, next(iter(series.values())), raster_before=raster_before,
                                   raster_after=raster_after, year_before=year_before, year_after=year_after,
                                   r_base=r_base, stock_u95=stock_u95, rate_u95=rate_u95, area_u95=area_u95)
        if not reconciliation["consistent"]:
            warnings.append(f"存量差法与增减法不一致：{reconciliation['stock_difference_tCO2_per_yr']:,.0f} vs "
                            f"{reconciliation['gain_loss_tCO2_per_yr']:,.0f} t CO2/yr / stock-difference and gain-loss "
                            f"estimates disagree beyond their uncertainty")
    leak_note = (f"{CCER_FM}: leakage 0 under its applicability conditions (existing forest stays forest; no "
                 f"displacement of farming, grazing or fuelwood collection)" if leakage_quality == 0 else
                 f"leakage share {leakage_quality:.0%} given by the user")
    extra = deduction_parameters(leakage={QUALITY: leakage_quality, BUYBACK: leakage_buyback},
                                 leakage_u95=leakage_u95, buffer=buffer, conservativeness=conservativeness)
    if growth == "curve" or bb_series is not None:
        extra += curve_parameters(curves)
    if reconciliation is not None:
        extra.append(Parameter("inventory stock u95", stock_u95, "share", "fixed", 0.0,
                               "zoning default for each inventory raster's total stock (independent)", True))
    return ProgramResult(target_ha, schedule, series, quality, buyback, gain, overlap, layers.synthetic,
                         {"draws": draws, "seed": seed, "plateau_years": plateau_years, "r_base": r_base,
                          "saturation_years": saturation_years, "min_stand_ha": min_stand_ha, "growth": growth,
                          "leakage_note_quality": leak_note},
                         cohorts, bb_cohorts, bb_series, registered, reg_status, reconciliation,
                         list(dict.fromkeys(warnings)), extra, source)


def _selection_density(sel: Selection | None) -> float:
    if sel is None or "stock_tC" not in sel.stands or "forest_ha" not in sel.stands:
        return float("nan")
    forest = float(sel.stands["forest_ha"].sum())
    return float(sel.stands["stock_tC"].sum() / forest) if forest > 0 else float("nan")


__all__ = ["ProgramResult", "annual_rows", "reconcile", "run_program"]
