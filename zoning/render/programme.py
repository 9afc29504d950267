"""The programme estimate drawn: a chart (PNG) and a one-page HTML summary. Nothing is computed here."""
from __future__ import annotations

import base64
import io
from html import escape

from zoning.carbon.programme import R_BASE, REPORT_YEARS
from zoning.carbon.run import ProgramResult


def chart_png(result: ProgramResult) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for (label, s), colour in zip(result.series.items(), ("#2e7d32", "#1565c0", "#6a1b9a", "#ef6c00")):
        ax1.plot(s.years, s.annual / 1e3, color=colour, label=f"r_target {s.r_target} (central)")
        ax1.fill_between(s.years, s.mc_annual["p2_5"] / 1e3, s.mc_annual["p97_5"] / 1e3, color=colour, alpha=0.15,
                         label="95 % (Monte Carlo)")
        ax2.plot(s.years, s.cumulative / 1e6, color=colour, label=f"r_target {s.r_target}")
        ax2.fill_between(s.years, s.mc_cumulative["p2_5"] / 1e6, s.mc_cumulative["p97_5"] / 1e6, color=colour,
                         alpha=0.15)
    ax1.set_title("Additional sink per year (kt CO2/yr)")
    ax2.set_title("Cumulative additional sink (Mt CO2)")
    for ax in (ax1, ax2):
        ax.set_xlabel("year")
        ax.grid(alpha=0.3)
        for y in REPORT_YEARS:
            ax.axvline(y, color="#9e9e9e", linewidth=0.6, linestyle=":")
    ax1.legend(fontsize=8, loc="center right")
    ax2.legend(fontsize=8)
    fig.suptitle(f"Forest-quality programme, {result.target_ha:,.0f} ha, r_base {R_BASE} t CO2/ha/yr"
                 + (" — SYNTHETIC sample layers" if result.synthetic else ""), fontsize=10)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def summary_html(result: ProgramResult, chart: bytes) -> str:
    d = result.to_dict()
    p = result.primary
    rows = "".join(
        f"<tr><td>{m}</td><td>{v['treated_area_ha']:,.0f} ha</td><td>{v['additional_tCO2']:,.0f} t CO2/yr</td>"
        f"<td>{v['cumulative_tCO2']:,.0f} t CO2</td><td>{v['cumulative_p2_5']:,.0f} – {v['cumulative_p97_5']:,.0f} t CO2</td>"
        f"<td>{v['share_of_2020_emissions']:.3%}</td></tr>" for m, v in d["milestones"].items())
    params = "".join(f"<tr><td>{escape(str(x['name']))}</td><td>{escape(str(x['value']))}</td><td>{escape(x['unit'])}</td>"
                     f"<td>{escape(x['distribution'])} (sd {x['sd']})</td><td>{escape(x['source'])}</td></tr>"
                     for x in d["parameters"])
    bb = d["buyback"]
    sel = d["selection"]
    notice = ("<p class='note'>注意：候选区基于合成示例图层选取，仅供演示。/ Selection made on SYNTHETIC sample layers, "
              "for demonstration only.</p>") if result.synthetic else ""
    img = "data:image/png;base64," + base64.b64encode(chart).decode("ascii")
    return f"""<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>森林质量精准提升碳汇增量</title>
<style>body{{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;max-width:62em;margin:2em auto;line-height:1.5}}
table{{border-collapse:collapse;width:100%}}td,th{{border:1px solid #b0bec5;padding:.25em .5em;text-align:left}}
th{{background:#eceff1}}.note{{background:#fff8e1;border-left:4px solid #ffb300;padding:.5em 1em}}img{{max-width:100%}}</style>
</head><body><h1>森林质量精准提升与商品林赎买碳汇估算 / Forest programmes' sink gain</h1>{notice}
<p>情景 scenario: r_target = {p.r_target} t CO2/ha/yr, r_base = {R_BASE} t CO2/ha/yr; 实施面积 treated
{sum(result.schedule.values()):,.0f} ha ({min(result.schedule)}–{max(result.schedule)}).
满面积年增汇 full-area annual gain: <b>{d['full_area_check']['annual_tCO2_at_full_area'] or 0:,.0f} t CO2/yr</b>
({escape(d['full_area_check']['formula'])}).</p>
<table><tr><th>年份 year</th><th>已实施 treated</th><th>年增汇 annual</th><th>累计 cumulative</th>
<th>累计 95% (Monte Carlo)</th><th>占 2020 年排放 share of 2020 emissions</th></tr>{rows}</table>
<p>候选区 selection ({escape(sel['source'])}): {sel['selected_ha']:,.0f} ha of target {sel['target_ha']:,.0f} ha
({sel['match']:+.2%}), {sel['stands']} stands, mean density {sel['mean_tC_ha'] or 0:.1f} t C/ha.
商品林赎买 buy-back: gross sink {bb['gross_sink_tCO2_per_yr']:,.0f} t CO2/yr (not additional without a harvest
baseline); overlap with the quality programme {bb['overlap_with_quality_ha']:,.1f} ha (counted once).</p>
<img alt="chart" src="{img}"><h2>参数 Parameters</h2><table><tr><th>name</th><th>value</th><th>unit</th>
<th>distribution</th><th>source</th></tr>{params}</table>
<p class="note">{escape(d['uncertainty']['note'])}</p></body></html>"""


