"""The forest programmes' estimate as one result object (no files: see zoning.export.carbon)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from zoning.io.layerset import LayerSet
from zoning.carbon.programme import (BUYBACK_HA, EMISSIONS_2020_TCO2, R_BASE, REPORT_YEARS, SinkSeries, buyback_gain, read_schedule,
                      sink_series)
from zoning.carbon.selection import BUYBACK, QUALITY, Selection, overlap_ha, read_quota, select_by_rule, select_from_layer



@dataclass
class ProgramResult:
    target_ha: float
    schedule: dict[int, float]
    series: dict[str, SinkSeries]  # scenario label -> series; first one is the primary
    quality: Selection
    buyback: Selection | None
    buyback_gain: dict
    overlap_ha: float
    synthetic: bool
    options: dict = field(default_factory=dict)

    @property
    def primary(self) -> SinkSeries:
        return next(iter(self.series.values()))

    def county_shares(self) -> pd.DataFrame:
        bc = self.quality.by_county
        total = bc["selected_ha"].sum()
        return bc.assign(share=bc["selected_ha"] / total if total else 0.0)

    # ------------------------------------------------------------------ tables
    def annual_table(self) -> pd.DataFrame:
        frames = []
        for label, s in self.series.items():
            frames.append(pd.DataFrame({
                "scenario_r_target": s.r_target, "year": s.years, "treated_area_ha": s.treated_ha,
                "effective_area_ha": s.effective_ha, "additional_tCO2": s.annual, "cumulative_tCO2": s.cumulative,
                "p2_5": s.mc_annual["p2_5"], "p50": s.mc_annual["p50"], "p97_5": s.mc_annual["p97_5"],
                "cumulative_p2_5": s.mc_cumulative["p2_5"], "cumulative_p50": s.mc_cumulative["p50"],
                "cumulative_p97_5": s.mc_cumulative["p97_5"],
                "approach1_p2_5": s.a1_annual["p2_5"], "approach1_p97_5": s.a1_annual["p97_5"],
                "share_of_2020_emissions": s.annual / EMISSIONS_2020_TCO2}))
        return pd.concat(frames, ignore_index=True)

    def county_table(self) -> pd.DataFrame:
        shares = self.county_shares()
        rows = []
        for s in self.series.values():
            for _, c in shares.iterrows():
                rows.append(pd.DataFrame({
                    "scenario_r_target": s.r_target, "year": s.years, "county_code": c["county_code"],
                    "county": c["county"], "treated_area_ha": s.treated_ha * c["share"],
                    "additional_tCO2": s.annual * c["share"], "cumulative_tCO2": s.cumulative * c["share"]}))
        return pd.concat(rows, ignore_index=True)

    def parameter_table(self) -> pd.DataFrame:
        seen, rows = set(), []
        for s in self.series.values():
            for p in s.parameters:
                key = (p.name, p.value)
                if key not in seen:
                    seen.add(key)
                    rows.append(p.record())
        rows.append({"name": "buyback_area", "value": self.buyback_gain["area_ha"], "unit": "ha", "distribution": "fixed",
                     "sd": 0.0, "source": "南平市减污降碳协同增效实施方案（征求意见稿）五、（五）: 1.67 万公顷"})
        rows.append({"name": "quality_target", "value": self.target_ha, "unit": "ha", "distribution": "fixed", "sd": 0.0,
                     "source": "南平市减污降碳协同增效实施方案（征求意见稿）五、（五）: 3 万公顷"})
        return pd.DataFrame(rows)

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict:
        def annual(s: SinkSeries) -> list[dict]:
            return [{"year": int(y), "treated_area_ha": float(t), "effective_area_ha": float(e),
                     "additional_tCO2": float(a), "cumulative_tCO2": float(c), "p2_5": float(l), "p50": float(m),
                     "p97_5": float(h), "cumulative_p2_5": float(cl), "cumulative_p50": float(cm),
                     "cumulative_p97_5": float(ch), "approach1_p2_5": float(a1l), "approach1_p97_5": float(a1h),
                     "share_of_2020_emissions": float(a / EMISSIONS_2020_TCO2)}
                    for y, t, e, a, c, l, m, h, cl, cm, ch, a1l, a1h in zip(
                        s.years, s.treated_ha, s.effective_ha, s.annual, s.cumulative, s.mc_annual["p2_5"],
                        s.mc_annual["p50"], s.mc_annual["p97_5"], s.mc_cumulative["p2_5"], s.mc_cumulative["p50"],
                        s.mc_cumulative["p97_5"], s.a1_annual["p2_5"], s.a1_annual["p97_5"])]

        p = self.primary
        full = float(p.annual[p.years == max(self.schedule)][0])  # every cohort treated by the last year
        return {
            "program": QUALITY, "target_ha": self.target_ha, "r_base": R_BASE, "scenario": p.r_target,
            "schedule": [{"year": y, "area_ha": a} for y, a in self.schedule.items()],
            "annual": annual(p),
            "milestones": {str(y): next(r for r in annual(p) if r["year"] == y) for y in REPORT_YEARS
                           if y in set(p.years.tolist())},
            "full_area_check": {"area_ha": float(sum(self.schedule.values())), "annual_tCO2_at_full_area": full,
                                "formula": f"{sum(self.schedule.values()):,.0f} ha × ({p.r_target} − {R_BASE}) t CO2/ha/yr"},
            "scenarios": {label: {"r_target": s.r_target, "annual": annual(s)} for label, s in self.series.items()},
            "parameters": self.parameter_table().to_dict("records"),
            "uncertainty": {"approach_1": "IPCC Approach 1: first-order error propagation of area and rate "
                                          "uncertainties (95 % = ±1.96 sd)",
                            "approach_2": {"method": "IPCC Approach 2: Monte Carlo", "draws": self.options.get("draws"),
                                           "seed": self.options.get("seed")},
                            "note": "the additional sink is a small difference of two uncertain rates, so its "
                                    "relative uncertainty is several times that of either rate"},
            "curve": {"plateau_years": self.options.get("plateau_years"),
                      "saturation_years": self.options.get("saturation_years"),
                      "g": "1 from the treatment year on" if not self.options.get("saturation_years") else
                           "1 until the plateau, then exp(-(t - t_c - plateau)/T)"},
            "selection": _selection_dict(self.quality, self.options.get("min_stand_ha")),
            "buyback": {**self.buyback_gain,
                        "selection": _selection_dict(self.buyback, self.options.get("min_stand_ha")) if self.buyback
                        else None,
                        "overlap_with_quality_ha": self.overlap_ha,
                        "double_counting": "overlapping area is counted once, in the quality programme; the buy-back "
                                           "gross sink uses the remaining area"},
            "context": {"emissions_2020_tCO2": EMISSIONS_2020_TCO2,
                        "source": "南平市减污降碳协同增效实施方案（征求意见稿）一、（一）: 2020 年二氧化碳排放 1075 万吨"},
            "synthetic": self.synthetic,
        }


def _selection_dict(sel: Selection, min_stand_ha: float | None) -> dict:
    return {"program": sel.program, "source": sel.source, "target_ha": sel.target_ha, "selected_ha": sel.selected_ha,
            "match": sel.match, "stands": int(len(sel.stands)),
            "min_stand_ha": min_stand_ha if sel.source == "rule" else None,
            "by_county": sel.by_county.to_dict("records"),
            "mean_tC_ha": float(sel.stands["stock_tC"].sum() / sel.stands["forest_ha"].sum())
            if "stock_tC" in sel.stands and sel.stands["forest_ha"].sum() > 0 else None}


def run_program(layers: LayerSet, *, scenarios=(2.77, 3.86), target_ha: float = 30_000.0, schedule_path=None,
                quota_path=None, min_stand_ha: float = 5.0, buyback_ha: float = BUYBACK_HA, rotation_years=None,
                harvest_stock_tC_ha=None, draws: int = 10_000, seed: int = 20211025, plateau_years=None,
                saturation_years=None, horizon: int = 2060) -> ProgramResult:
    """Select where the programmes fall, then compute the sink series for every scenario."""
    schedule = read_schedule(schedule_path)
    if schedule_path is None and target_ha != 30_000.0:
        schedule = {y: target_ha / 5 for y in range(2021, 2026)}
    raster = layers.catalog.one("forest_carbon").path
    has_layer = "program" in layers.frames and layers.info["program"].status == "ok"
    admin = layers.frames["admin"]
    quota = read_quota(quota_path, admin) if quota_path else None
    if has_layer:
        quality = select_from_layer(layers, program=QUALITY, target_ha=target_ha)
        try:
            buyback = select_from_layer(layers, program=BUYBACK, target_ha=buyback_ha)
        except Exception:
            buyback = None
    else:
        quality = select_by_rule(layers, raster, program=QUALITY, target_ha=target_ha, min_stand_ha=min_stand_ha,
                                 quota=quota)
        buyback = select_by_rule(layers, raster, program=BUYBACK, target_ha=buyback_ha, min_stand_ha=min_stand_ha)
    overlap = overlap_ha(quality, buyback) if buyback is not None else 0.0
    gain = buyback_gain(max(buyback_ha - overlap, 0.0), rotation_years=rotation_years,
                        harvest_stock_tC_ha=harvest_stock_tC_ha)
    series = {}
    for r in scenarios:
        series[f"{r:.2f}"] = sink_series(schedule, float(r), horizon=horizon, draws=draws, seed=seed,
                                         plateau_years=plateau_years, saturation_years=saturation_years)
    return ProgramResult(target_ha, schedule, series, quality, buyback, gain, overlap, layers.synthetic,
                         {"draws": draws, "seed": seed, "plateau_years": plateau_years,
                          "saturation_years": saturation_years, "min_stand_ha": min_stand_ha})


__all__ = ["ProgramResult", "run_program"]
