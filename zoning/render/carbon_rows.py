"""Rows of the forest-carbon section, shared by the HTML and DOCX reports."""
from __future__ import annotations


#: why a carbon section has no figures: status -> (Chinese, English)
_NOT_MEASURED = {"outside": ("站点不在碳密度图范围内", "outside the carbon raster"),
                 "no_footprint": ("点或线站点没有占地面积", "a point or line has no footprint"),
                 "failed": ("碳密度图不可用", "the carbon raster is unusable")}


def carbon_rows(carbon: dict | None, lang: str = "zh") -> list[tuple[str, str]]:
    """(label, value-with-unit) pairs; empty when the result has no carbon section."""
    if not carbon:
        return []
    en = lang == "en"
    if carbon.get("status") not in ("ok", "partial"):
        label = "Forest carbon" if en else "森林碳储量"
        status = carbon.get("status")
        zh_status, en_status = _NOT_MEASURED.get(status, (str(status), str(status)))
        detail = str(carbon.get("detail") or "")
        zh_detail, _, en_detail = detail.partition(" / ")
        if detail:  # the section says why itself
            text = (en_detail or zh_detail) if en else zh_detail
        else:
            text = f"not measured ({en_status})" if en else f"未测算（{zh_status}）"
        return [(label, text)]
    fs = carbon["forgone_sink"]
    share = carbon["clear_share"]
    share_note = "" if carbon["clear_share_given"] else (" (default: all cleared)" if en else "（默认全部清除）")
    rows = [
        ("Forest in footprint" if en else "占地范围内森林面积", f"{carbon['forest_ha']:,.2f} ha"),
        ("Carbon stock" if en else "碳储量", f"{carbon['stock_tC']:,.1f} t C = {carbon['stock_tCO2']:,.1f} t CO2"),
        ("Mean density of forest" if en else "森林平均碳密度", f"{carbon['mean_tC_ha']:,.1f} t C/ha"
         if carbon["forest_ha"] > 0 else ("— (no forest in the footprint)" if en else "—（占地范围内无森林）")),
        ("Cleared share" if en else "植被清除比例", f"{share:.0%}{share_note}"),
        ("Loss if cleared" if en else "清除造成的碳损失",
         f"{carbon['loss_tC']:,.1f} t C = {carbon['loss_tCO2']:,.1f} t CO2"),
        ("Forgone sink (separate, not added to the loss)" if en else "丧失的碳汇（单列，不计入损失）",
         f"{fs['per_year_tCO2']:,.1f} t CO2/yr × {fs['years_to_2030']} yr = {fs['to_2030_tCO2']:,.1f} t CO2 "
         f"({'to' if en else '至'} 2030); {fs['to_2060_tCO2']:,.1f} t CO2 ({'to' if en else '至'} 2060); "
         f"r = {fs['rate_tCO2_per_ha_yr']} t CO2/ha/yr, {'from' if en else '起算年'} {fs['base_year']}"),
        ("Pixels (coverage-weighted)" if en else "像元数（按覆盖比例）", f"{carbon['pixels']:,.1f}"),
        ("Density layer" if en else "碳密度图层",
         f"{carbon['raster']['name']} ({carbon['raster']['units']}; {carbon['raster']['pools']}; "
         f"{carbon['raster']['vintage']})"),
    ]
    if carbon["flags"]:
        rows.append(("Flags" if en else "提示", ", ".join(carbon["flags"])))
    if carbon.get("status") == "partial":  # the figures are a lower bound: said first
        zh, _, en_text = str(carbon.get("detail") or "").partition(" / ")
        rows.insert(0, ("Coverage" if en else "数据覆盖", (en_text or zh) if en else zh))
    return rows
