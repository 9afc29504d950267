"""The programme estimate drawn: charts (PNG) and the HTML report an analyst can file.

Chinese by default, English with ``lang="en"``. Everything shown is read from the
:class:`~zoning.carbon.run.ProgramResult` (its ``to_dict()`` and tables); nothing is computed here
beyond formatting.
"""
from __future__ import annotations

import base64
import io
import math
from html import escape

from zoning.carbon.programme import (CCER_AR, CCER_FM, IPCC_2006, IPCC_2019, REPORT_YEARS, SEED_DOC, U95_CONVENTION,
                                     U95_CONVENTION_CHINESE, VCS_AFOLU)
from zoning.carbon.run import ProgramResult
from zoning.render.labels import pick, plot_rc
from zoning.vocabulary import BUYBACK, FOREST_TYPES, PROGRAMMES

#: key -> (Chinese, English)
L = {
    "title": ("森林质量精准提升与商品林赎买碳汇核算报告", "Forest programmes: carbon removals accounting report"),
    "synthetic": ("注意：林分基于合成示例图层，仅供演示。", "Stands placed on SYNTHETIC sample layers, for demonstration only."),
    "summary": ("概要", "Summary"),
    "warnings": ("提示与警告", "Warnings"),
    "milestones": ("关键年份（主情景）", "Milestone years (primary scenario)"),
    "scenarios": ("各情景关键年份", "Milestones by scenario"),
    "annual": ("逐年序列（主情景）", "Annual series (primary scenario)"),
    "buyback": ("商品林赎买（避免采伐）", "Buy-back (avoided harvest)"),
    "county": ("分县区", "By county"),
    "type": ("分林分类型", "By forest type"),
    "double": ("重复计算核查（已登记碳汇项目）", "Double-counting guard (registered carbon projects)"),
    "reconcile": ("存量差法与增减法对照", "Stock difference vs gain-loss"),
    "uncertainty": ("不确定性", "Uncertainty"),
    "parameters": ("参数表", "Parameter table"),
    "methods": ("方法说明", "Methods"),
    "year": ("年份", "Year"),
    "treated": ("已实施面积 ha", "Treated ha"),
    "baseline": ("基线清除 t CO2", "Baseline removals t CO2"),
    "project": ("项目清除 t CO2", "Project removals t CO2"),
    "additional": ("额外碳汇（毛） t CO2", "Gross additional t CO2"),
    "leakage": ("泄漏 t CO2", "Leakage t CO2"),
    "net": ("净碳汇 t CO2", "Net t CO2"),
    "registered": ("已登记剔除 t CO2", "Registered, excluded t CO2"),
    "conservativeness": ("保守性扣减 t CO2", "Conservativeness t CO2"),
    "buffer": ("风险缓冲 t CO2", "Permanence buffer t CO2"),
    "creditable": ("可签发量 t CO2", "Creditable t CO2"),
    "range": ("额外碳汇 95% 区间（蒙特卡洛）", "Gross 95 % range (Monte Carlo)"),
    "cred_range": ("可签发 95% 区间", "Creditable 95 % range"),
    "cumulative": ("累计", "Cumulative"),
    "area": ("面积 ha", "Area ha"),
    "name": ("名称", "Name"), "value": ("数值", "Value"), "unit": ("单位", "Unit"),
    "distribution": ("分布", "Distribution"), "u95": ("95% 半宽", "95 % half-width"), "source": ("来源", "Source"),
    "assumption": ("假设", "Assumption"), "yes": ("是（假设）", "yes (assumption)"), "no": ("", ""),
    "chart_annual": ("年额外碳汇与扣减（kt CO2/年）", "Annual removals and deductions (kt CO2/yr)"),
    "chart_cum": ("累计额外碳汇（Mt CO2）", "Cumulative additional removals (Mt CO2)"),
    "chart_x": ("年份", "year"),
    "gross_line": ("毛额外碳汇", "gross additional"), "net_line": ("净碳汇", "net"),
    "cred_line": ("可签发量", "creditable"), "mc_band": ("95% 区间（蒙特卡洛）", "95 % range (Monte Carlo)"),
    "scenario": ("情景", "scenario"),
    "county_name": ("县区", "County"), "forest_type": ("林分类型", "Forest type"),
    "stand": ("林分", "Stand"), "scheme": ("登记类型", "Scheme"), "overlap": ("重叠面积 m²", "Overlap m²"),
    "reg_name": ("已登记项目", "Registered project"), "programme": ("项目", "Programme"),
    "approach1": ("方法1（误差传递）", "Approach 1 (error propagation)"),
    "approach2": ("方法2（蒙特卡洛）", "Approach 2 (Monte Carlo)"),
    "none": ("无", "none"),
}


def _t(key: str, lang: str) -> str:
    return pick(L, key, lang)


#: words of the result shown in the Chinese report (the result keeps English codes)
SOURCE_ZH = {"file": "林分文件", "layer": "图层目录的 program 图层", "rule": "按规则选择"}
GROWTH_ZH = {"plan": "规划常数速率", "curve": "Chapman-Richards 生长曲线"}


def _label_zh(sc: dict) -> str:
    """The scenario's sink label in Chinese."""
    return "额外碳汇为负（情景低于基线）：项目将减少清除量" if sc.get("negative") else "额外碳汇（项目 − 基线）"


def _dr_note_zh(note: str) -> str:
    """The conservativeness note (English in the result) in Chinese."""
    import re

    if not note:
        return ""
    m = re.match(r"U90 = ([\d.]+%) ≤ (\d+%): DR = (\d+%)", note)
    if m:
        return f"U90 = {m[1]} ≤ {m[2]}：DR = {m[3]}"
    m = re.match(r"U90 = ([\d.]+%) > (\d+%)", note)
    if m:
        return f"U90 = {m[1]} > {m[2]}：签发前需增加监测样地；扣减至 90% 置信下限（DR = U90）"
    if note.startswith("uncertainty unbounded"):
        return "不确定性无界（估计值接近零）：全部扣减"
    if note.startswith("no conservativeness"):
        return "不作保守性扣减（已关闭）"
    m = re.match(r"DR = (\S+) given", note)
    if m:
        return f"DR = {m[1]}（用户给定）"
    return note


def chart_png(result: ProgramResult, lang: str = "zh") -> bytes:
    """Two panels: annual gross, net and creditable removals of each scenario with the Monte Carlo
    95 % band, and the cumulative gross; labels in Chinese (English with ``lang="en"``, or when no
    CJK font is installed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rc, use = plot_rc(lang)
    with plt.rc_context(rc):
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11.5, 4.4))
        colours = ("#2e7d32", "#1565c0", "#6a1b9a", "#ef6c00")
        sets = [(f"r = {s.r_target}", s) for s in result.series.values()]
        if result.buyback_series is not None:
            sets.append((PROGRAMMES[BUYBACK][0 if use == "zh" else 1].split(" (")[0], result.buyback_series))
        for (label, s), colour in zip(sets, colours):
            acc = s.accounting
            ax1.plot(s.years, acc.central["additional"] / 1e3, color=colour, label=f"{label} {_t('gross_line', use)}")
            ax1.fill_between(s.years, acc.mc["additional"]["p2_5"] / 1e3, acc.mc["additional"]["p97_5"] / 1e3,
                             color=colour, alpha=0.12)
            ax1.plot(s.years, acc.central["net"] / 1e3, color=colour, linestyle="--", linewidth=0.9,
                     label=f"{label} {_t('net_line', use)}")
            ax1.plot(s.years, acc.central["creditable"] / 1e3, color=colour, linestyle=":", linewidth=1.2,
                     label=f"{label} {_t('cred_line', use)}")
            ax2.plot(s.years, acc.cumulative["additional"] / 1e6, color=colour, label=label)
            ax2.fill_between(s.years, acc.mc_cumulative["additional"]["p2_5"] / 1e6,
                             acc.mc_cumulative["additional"]["p97_5"] / 1e6, color=colour, alpha=0.12)
        ax1.set_title(_t("chart_annual", use))
        ax2.set_title(_t("chart_cum", use))
        for ax in (ax1, ax2):
            ax.set_xlabel(_t("chart_x", use))
            ax.grid(alpha=0.3)
            ax.axhline(0, color="#616161", linewidth=0.6)
            for y in REPORT_YEARS:
                ax.axvline(y, color="#9e9e9e", linewidth=0.6, linestyle=":")
        ax1.legend(fontsize=7, loc="best")
        ax2.legend(fontsize=7, title=_t("mc_band", use), title_fontsize=7)
        title = (f"{_t('title', use)} — {result.treated_ha:,.0f} ha"
                 + ((" — 合成示例数据" if use == "zh" else " — SYNTHETIC sample layers") if result.synthetic else ""))
        fig.suptitle(title, fontsize=10)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
        plt.close(fig)
    return buf.getvalue()


def _f(x, digits: int = 0) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    return f"{x:,.{digits}f}"


def _table(head: list[str], rows: list[list]) -> str:
    th = "".join(f"<th>{escape(str(h))}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def _row_cells(r: dict) -> list:
    return [r["year"], _f(r["treated_area_ha"]), _f(r["baseline_tCO2"]), _f(r["project_tCO2"]),
            _f(r["additional_tCO2"]), _f(r["leakage_tCO2"]), _f(r["net_tCO2"]), _f(r["registered_excluded_tCO2"]),
            _f(r["conservativeness_tCO2"]), _f(r["buffer_tCO2"]), _f(r["creditable_tCO2"]),
            f"{_f(r['p2_5'])} – {_f(r['p97_5'])}", f"{_f(r['creditable_p2_5'])} – {_f(r['creditable_p97_5'])}"]


def _series_head(lang: str) -> list[str]:
    return [_t(k, lang) for k in ("year", "treated", "baseline", "project", "additional", "leakage", "net",
                                  "registered", "conservativeness", "buffer", "creditable", "range", "cred_range")]


def summary_html(result: ProgramResult, chart: bytes, lang: str = "zh") -> str:
    """The filed report: summary, warnings, milestones, annual series by scenario and deduction, buy-back,
    per-county and per-type tables, double counting, reconciliation, uncertainty, parameters, methods."""
    d = result.to_dict()
    p = result.primary
    en = lang == "en"
    parts: list[str] = []
    add = parts.append
    if result.synthetic:
        add(f"<p class='note'>{escape(_t('synthetic', lang))}</p>")
    full = d["full_area_check"]
    acc = d["scenarios"][next(iter(d["scenarios"]))]["deductions"]
    conv = U95_CONVENTION if en else U95_CONVENTION_CHINESE
    add(f"<h2>{_t('summary', lang)}</h2><p>" + escape(
        (f"Stands: {d['stands']['count']} ({d['stands']['source']}), {full['area_ha']:,.2f} ha treated "
         f"{min(result.schedule)}–{max(result.schedule)}; r_base {d['r_base']} t CO2/ha/yr; scenarios "
         f"{', '.join(d['scenarios'])} t CO2/ha/yr; growth: {p.growth.get('growth')}. Gross additional sink at full "
         f"area ({full['year']}): {full['annual_tCO2_at_full_area']:,.0f} t CO2/yr ({full['formula']}, no deductions). "
         f"Deductions: leakage {acc['leakage_share']:.0%}, conservativeness DR {acc['conservativeness_dr']:.1%} "
         f"({acc['conservativeness_note']}), permanence buffer {acc['buffer_share']:.0%}.")
        if en else
        (f"林分 {d['stands']['count']} 个（来源：{SOURCE_ZH.get(d['stands']['source'], d['stands']['source'])}），实施面积 {full['area_ha']:,.2f} 公顷"
         f"（{min(result.schedule)}–{max(result.schedule)} 年）；基线速率 {d['r_base']} t CO2/ha/年；情景 "
         f"{', '.join(d['scenarios'])} t CO2/ha/年；生长模型：{GROWTH_ZH.get(p.growth.get('growth'), p.growth.get('growth'))}。满面积（{full['year']} 年）"
         f"毛额外碳汇 {full['annual_tCO2_at_full_area']:,.0f} t CO2/年（{full['formula']}，未扣减）。扣减：泄漏 "
         f"{acc['leakage_share']:.0%}，保守性调减 DR {acc['conservativeness_dr']:.1%}（{_dr_note_zh(acc['conservativeness_note'])}），"
         f"非持久性风险缓冲 {acc['buffer_share']:.0%}。")) + f"</p><p class='conv'>{escape(conv)}</p>")
    if d["warnings"]:
        add(f"<h2>{_t('warnings', lang)}</h2><ul class='warn'>"
            + "".join(f"<li>{escape(w)}</li>" for w in d["warnings"]) + "</ul>")
    # milestones of every scenario
    head = _series_head(lang)
    for label, sc in d["scenarios"].items():
        rows = [_row_cells(r) for r in sc["annual"] if r["year"] in REPORT_YEARS]
        add(f"<h2>{_t('scenarios', lang)}: r_target = {escape(label)} t CO2/ha/yr — {escape(sc['label'])}</h2>"
            if en else
            f"<h2>{_t('scenarios', lang)}：目标速率 {escape(label)} t CO2/ha/年 — {escape(_label_zh(sc))}</h2>"
            + _table(head, rows))
    add(f"<img alt='chart' src='data:image/png;base64,{base64.b64encode(chart).decode('ascii')}'>")
    add(f"<h2>{_t('annual', lang)}</h2>" + _table(head, [_row_cells(r) for r in d["annual"]]))
    # buy-back
    bb = d["buyback"]
    text = (f"{bb['area_ha']:,.2f} ha; gross sink {bb['gross_sink_tCO2_per_yr']:,.0f} t CO2/yr "
            f"(not additional by itself); overlap with the quality programme {bb['overlap_with_quality_ha']:,.2f} ha "
            f"counted once." if en else
            f"{bb['area_ha']:,.2f} 公顷；总碳汇 {bb['gross_sink_tCO2_per_yr']:,.0f} t CO2/年（本身不是额外量）；与质量提升"
            f"重叠 {bb['overlap_with_quality_ha']:,.2f} 公顷，只计一次。")
    add(f"<h2>{_t('buyback', lang)}</h2><p>{escape(text)}</p>")
    if bb.get("annual"):
        method = bb.get("method", "") if en else ("避免采伐：基线情景在各林分达到轮伐龄时按强度 h 采伐并更新；"
                                                  "项目情景保留林分（改进森林经营，参照 VCS/CCER）。")
        add(f"<p>{escape(method)}</p>"
            + _table(head, [_row_cells(r) for r in bb["annual"] if r["year"] in REPORT_YEARS or
                            r["year"] == bb["annual"][0]["year"]]))
    # per county and per type
    for key, title in (("county_code", "county"), ("forest_type", "type")):
        table = result.county_table() if key == "county_code" else result.type_table()
        if table.empty:
            continue
        rows = []
        for (prog, scen), g in table.groupby(["programme", "scenario"], sort=False):
            for k, gg in g.groupby(key, sort=False):
                name = gg["county"].iloc[0] if key == "county_code" else (
                    FOREST_TYPES.get(k, (k, k))[1 if en else 0])
                last = gg[gg["year"] == gg["year"].max()].iloc[0]
                at = gg[gg["year"] == max(result.schedule)]
                at = at.iloc[0] if len(at) else last
                rows.append([PROGRAMMES.get(prog, (prog, prog))[1 if en else 0].split(" (")[0], scen, name,
                             _f(at["treated_area_ha"], 2), _f(at["additional_tCO2"]), _f(at["net_tCO2"]),
                             _f(at["creditable_tCO2"]), _f(last["cumulative_tCO2"]),
                             _f(last["cumulative_creditable_tCO2"])])
        head2 = [_t("programme", lang), _t("scenario", lang), _t("county_name" if key == "county_code" else
                                                                  "forest_type", lang),
                 _t("area", lang), f"{_t('additional', lang)} ({max(result.schedule)})",
                 f"{_t('net', lang)} ({max(result.schedule)})", f"{_t('creditable', lang)} ({max(result.schedule)})",
                 f"{_t('cumulative', lang)} {_t('additional', lang)}", f"{_t('cumulative', lang)} {_t('creditable', lang)}"]
        add(f"<h2>{_t(title, lang)}</h2>" + _table(head2, rows))
    # double counting
    dc = d["double_counting"]
    add(f"<h2>{_t('double', lang)}</h2><p>{escape(dc['layer'])}. {escape(dc['rule'])}</p>")
    if dc["excluded_stands"]:
        add(_table([_t("stand", lang), _t("programme", lang), _t("reg_name", lang), _t("scheme", lang),
                    _t("overlap", lang)],
                   [[x["stand_id"], x["programme"], x["registered_name"], x["scheme"], _f(x["overlap_m2"])]
                    for x in dc["excluded_stands"]]))
    else:
        add(f"<p>{_t('none', lang)}</p>")
    # reconciliation
    rc = d["reconciliation"]
    if rc:
        unc = rc.get("combined_u95_relative")
        unc_text = "—" if unc is None else f"±{unc * 100:.0f} %"
        if en:
            names = ("stock difference", "gain-loss", "difference")
            verdict = f"within uncertainty {unc_text}" if rc["consistent"] else f"NOT within uncertainty {unc_text}"
            note = (f"{rc['stands_compared']} stand(s), {rc['area_compared_ha']:,.2f} ha compared "
                    f"({rc['stands_not_fully_covered']} not fully covered). {rc['note']}")
        else:
            names = ("存量差法", "增减法", "差值")
            verdict = f"在不确定性范围内 {unc_text}" if rc["consistent"] else f"超出不确定性 {unc_text}"
            note = (f"对照 {rc['stands_compared']} 个林分、{rc['area_compared_ha']:,.2f} 公顷（"
                    f"{rc['stands_not_fully_covered']} 个未被两期栅格完全覆盖）。两期清查总量各按 95% 半宽独立处理；"
                    f"两种估计之差在合成 95% 半宽以内即视为一致。")
        rel = rc.get("relative_difference")
        add(f"<h2>{_t('reconcile', lang)}</h2>" + _table(
            ["", "t CO2/yr" if en else "t CO2/年", "U95"],
            [[f"{names[0]} {rc['raster_before']} ({rc['year_before']}) → {rc['raster_after']} ({rc['year_after']})",
              _f(rc["stock_difference_tCO2_per_yr"]), _f((rc["stock_difference_u95"] or 0) * 100, 1) + " %"],
             [names[1], _f(rc["gain_loss_tCO2_per_yr"]), _f(rc["gain_loss_u95"] * 100, 1) + " %"],
             [names[2] + ("" if rel is None else f" ({rel * 100:+.0f} %)"), _f(rc["difference_tCO2_per_yr"]),
              verdict]])
            + f"<p>{escape(note)}</p>")
    # uncertainty
    rows = []
    for label, sc in d["scenarios"].items():
        ag = sc["uncertainty"]["agreement"]
        rows.append([label, _f((ag["approach_1"] or 0) * 100, 1) + " %", _f((ag["approach_2"] or 0) * 100, 1) + " %",
                     _f((sc["deductions"]["u95_of_cumulative"]["creditable"] or 0) * 100, 1) + " %"])
    add(f"<h2>{_t('uncertainty', lang)}</h2><p>{escape(conv)}</p>" + _table(
        [_t("scenario", lang), _t("approach1", lang), _t("approach2", lang), f"{_t('creditable', lang)} U95"], rows))
    # parameters
    add(f"<h2>{_t('parameters', lang)}</h2>" + _table(
        [_t(k, lang) for k in ("name", "value", "unit", "distribution", "u95", "source", "assumption")],
        [[x["name"], x["value"], x["unit"], x["distribution"], f"±{x['u95_pct']:g} %" if x["u95"] else "—",
          x["source"], _t("yes" if x["assumption"] else "no", lang)] for x in d["parameters"]]))
    add(f"<h2>{_t('methods', lang)}</h2>" + methods_html(lang))
    title = _t("title", lang)
    return f"""<!DOCTYPE html><html lang="{'en' if en else 'zh-CN'}"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>body{{font-family:"Noto Sans CJK SC","Microsoft YaHei","WenQuanYi Micro Hei",sans-serif;max-width:72em;margin:2em auto;line-height:1.5}}
table{{border-collapse:collapse;width:100%;font-size:.85em;margin:.5em 0}}td,th{{border:1px solid #b0bec5;padding:.2em .4em;text-align:left}}
th{{background:#eceff1}}.note{{background:#fff8e1;border-left:4px solid #ffb300;padding:.5em 1em}}.conv{{color:#455a64}}
.warn li{{color:#b71c1c}}img{{max-width:100%}}</style></head><body><h1>{escape(title)}</h1>
{''.join(parts)}
<p class="conv">{escape(SEED_DOC)}</p></body></html>"""


def methods_html(lang: str = "zh") -> str:
    """The methods section: the model, the deductions and what each follows."""
    if lang == "en":
        items = [
            f"Following {CCER_FM} (and {CCER_AR} for the precision rules); IPCC: {IPCC_2006}; {IPCC_2019}.",
            "Quality programme: project removals P = A·r_target·g, baseline removals B = A·r_base·g per cohort "
            "(stands treated in one year), additional ΔS = P − B. g = 1 from the treatment year with the plan's "
            "rates; with growth curves g follows each forest type's Chapman-Richards increment at the stand's age, "
            "calibrated so that the mean rate at treatment is the plan's.",
            "Buy-back: the baseline harvests each stand at its rotation age (intensity h) and regrows it; the "
            "project keeps it. Additional = avoided harvest emissions + growth kept − baseline regrowth. Without "
            "a harvest baseline only the gross sink is reported (not additional).",
            "Leakage: 0 for forest management under the methodology's applicability conditions; market leakage "
            f"for the buy-back ({VCS_AFOLU}).",
            "Double counting: stands overlapping a registered carbon project (CCER, FFCER, 林业碳票) are excluded "
            "from creditable removals and listed.",
            "Conservativeness: deduction DR from the estimate's uncertainty at 90 % confidence (≤10 %: 0, ≤20 %: 6 %, "
            "≤30 %: 11 %; above 30 %: the lower 90 % bound). Permanence: a buffer share of the eligible net removals.",
            f"Uncertainty: {U95_CONVENTION}. Approach 1 and Approach 2 (Monte Carlo, fixed seed) are both reported.",
            "Stock difference (two inventory rasters, IPCC 2006 Vol. 4 Eq. 2.5) is compared with the gain-loss "
            "estimate (Eq. 2.4) where both exist.",
        ]
    else:
        items = [
            f"参照《{CCER_FM}》（精度控制参照《{CCER_AR}》）；IPCC：{IPCC_2006}；{IPCC_2019}。",
            "森林质量精准提升：按实施年度划分林分批次（cohort），项目情景清除量 P = A·r_target·g，基线情景 B = A·r_base·g，"
            "额外碳汇 ΔS = P − B。采用方案速率时 g 自实施年起为 1；采用生长曲线时 g 按林分类型的 Chapman-Richards 曲线"
            "随林龄变化（杉木、马尾松、阔叶林），并校准使实施年平均速率等于方案速率。",
            "商品林赎买：基线情景在主伐年龄按采伐强度 h 采伐并更新，项目情景保留林分；额外量 = 避免的采伐排放 + 保留林分生长"
            " − 基线更新生长。没有采伐基线时只报告总碳汇，不计为额外量。",
            f"泄漏：森林经营在方法学适用条件下取 0；赎买按市场泄漏扣减（{VCS_AFOLU}）。",
            "重复计算：与已登记碳汇项目（CCER、FFCER、林业碳票）重叠的林分不计入可签发量，并逐一列出。",
            "保守性：按 90% 置信水平的不确定性调减（≤10%：0；≤20%：6%；≤30%：11%；>30%：取 90% 置信下限）；"
            "非持久性风险：按比例计入缓冲。",
            f"不确定性：{U95_CONVENTION_CHINESE}。同时报告方法 1（误差传递）与方法 2（蒙特卡洛，固定随机种子）。",
            "有两期碳密度栅格时，以存量差法（IPCC 2006 第 4 卷式 2.5）与增减法（式 2.4）对照。",
        ]
    return "<ol>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ol>"


def console_summary(result: ProgramResult) -> str:
    """What ``zoning carbon program`` prints: milestones of every scenario with each deduction, the
    uncertainty (95 % half-widths), the full-area check, the stands, double counting and the buy-back."""
    from zoning.render.table import format_table

    d = result.to_dict()
    rows = []
    for label, s in d["scenarios"].items():
        for r in s["annual"]:
            if r["year"] in REPORT_YEARS:
                rows.append((label + (" (负 NEGATIVE)" if s["negative"] else ""), r["year"],
                             f"{r['additional_tCO2']:,.0f}", f"{r['p2_5']:,.0f} – {r['p97_5']:,.0f}",
                             f"{r['leakage_tCO2']:,.0f}", f"{r['net_tCO2']:,.0f}", f"{r['conservativeness_tCO2']:,.0f}",
                             f"{r['buffer_tCO2']:,.0f}", f"{r['creditable_tCO2']:,.0f}", f"{r['cumulative_tCO2']:,.0f}"))
    lines = [format_table(rows, ["r_target", "年 year", "额外 gross t CO2/yr", "95% (MC)", "泄漏 leakage", "净 net",
                                 "保守 conserv.", "缓冲 buffer", "可签发 creditable", "累计 cumulative"])]
    u = d["uncertainty"]["approach_1"]["relative_u95"]
    parts = []
    for k, v in u.items():
        if v is not None and math.isfinite(v):
            parts.append(f"r_target {k}: ±{v:.1%}")
            continue
        last = d["scenarios"][k]["annual"][-1]
        absolute = last.get("approach1_u95_tCO2")
        parts.append(f"r_target {k}: 相对不确定性无定义（额外碳汇为零） undefined (zero additional sink)"
                     + (f"; 方法1绝对区间 Approach 1 absolute range {last['additional_tCO2']:,.0f} ± {absolute:,.0f} "
                        f"t CO2/yr ({last['year']})" if absolute is not None else ""))
    lines.append("\n不确定性 uncertainty (95 % half-width, IPCC 2006 Vol.1 Ch.3; Approach 1): " + ", ".join(parts))
    full = d["full_area_check"]
    lines.append(f"满面积核对 full-area check ({full['year']}): {full['formula']} = "
                 f"{full['annual_tCO2_at_full_area']:,.0f} t CO2/yr (gross, no deductions)")
    st, bb = d["stands"], d["buyback"]
    lines.append(f"林分 stands: {st['count']} ({st['source']}), {st['area_ha']:,.1f} ha in {len(st['by_county'])} "
                 f"county(ies); 重复计算 double counting: {d['double_counting']['layer']}, "
                 f"{len(d['double_counting']['excluded_stands'])} overlap(s) excluded from creditable")
    lines.append(f"赎买 buy-back: {bb['area_ha']:,.0f} ha, gross sink {bb['gross_sink_tCO2_per_yr']:,.0f} t CO2/yr"
                 + (f"; avoided harvest (additional) cumulative to {int(result.buyback_series.years[-1])}: "
                    f"{bb['deductions']['cumulative_to_horizon_tCO2']['additional']:,.0f} t CO2" if bb.get("annual")
                    else " (not additional without a harvest baseline)"))
    rc = d["reconciliation"]
    if rc:
        rel, unc = rc.get("relative_difference"), rc.get("combined_u95_relative")
        rel_text = "—" if rel is None else f"{rel:+.0%}"
        unc_text = "±?" if unc is None else f"±{unc:.0%}"
        verdict = (f"在不确定性范围内 within uncertainty {unc_text}" if rc["consistent"]
                   else f"超出不确定性 NOT within uncertainty {unc_text}")
        lines.append(f"存量差法 stock difference {rc['stock_difference_tCO2_per_yr']:,.0f} vs 增减法 gain-loss "
                     f"{rc['gain_loss_tCO2_per_yr']:,.0f} t CO2/yr over {rc['stands_compared']} stand(s) / "
                     f"{rc['area_compared_ha']:,.1f} ha compared ({rc['stands_not_fully_covered']} not fully "
                     f"covered): difference {rel_text} of gain-loss; {verdict} (combined 95 %)")
    return "\n".join(lines)
