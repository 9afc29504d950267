"""How big a site and its overlaps are, in words: both areas labelled, lengths for lines.

Every renderer (HTML, DOCX, the 符合性分析 table) takes its size texts from here, so a line's
length is never shown under 面积 and an area never appears without saying which one it is:
the ellipsoidal area (CGCS2000 ellipsoid) or the Gauss-Kruger planar area of the site's
3-degree zone (the one land surveys / 勘测定界 and official results use).
"""
from __future__ import annotations

from zoning.screening.result import HitRecord, ScreenResult
from zoning.render.labels import fmt_area, fmt_length, t


def site_kind(result: ScreenResult) -> str:
    """``polygon``, ``line`` or ``point`` (what the site's size is measured as)."""
    s = result.site
    kind = s.geom_type or ""
    if kind.endswith("Polygon") or (s.area_m2 or 0) > 0:
        return "polygon"
    if kind.endswith("LineString") or (s.length_m or 0) > 0:
        return "line"
    return "point"


def site_size_rows(result: ScreenResult, lang: str) -> list[tuple[str, str]]:
    """(label, value) rows for the site table: both areas for a polygon, the length for a line."""
    s = result.site
    kind = site_kind(result)
    if kind == "polygon":
        gk = f"{t('area_gk', lang)} {result.crs_used}" if result.crs_used else t("area_gk", lang)
        return [(t("area_ellipsoidal", lang), fmt_area(s.area_m2)), (gk, fmt_area(s.area_gk_m2))]
    if kind == "line":
        return [(t("length", lang), fmt_length(s.length_m))]
    return [(t("area", lang), "—")]


def area_note(result: ScreenResult, lang: str) -> str | None:
    """Which area official results use (shown under the site table of a polygon site)."""
    return t("area_note", lang) if site_kind(result) == "polygon" else None


def hit_headers(result: ScreenResult, lang: str) -> list[str]:
    """Headers of the size columns of the overlaps table."""
    kind = site_kind(result)
    if kind == "polygon":
        return [t("hit_area_gk", lang), t("hit_area_ellipsoidal", lang), t("share", lang)]
    if kind == "line":
        return [t("crossing", lang), t("length_share", lang)]
    return [t("share", lang)]


def hit_cells(h: HitRecord, result: ScreenResult, lang: str) -> list[str]:
    """The size cells of one hit, matching :func:`hit_headers`."""
    kind = site_kind(result)
    if kind == "polygon":
        return [fmt_area(h.area_m2), fmt_area(h.area_ellipsoidal_m2), f"{h.share:.1%}"]
    if kind == "line":
        return [fmt_length(h.length_m), f"{h.share:.1%}"]
    return [t("contains_site", lang)]


def hit_size_text(h: HitRecord, result: ScreenResult, lang: str) -> str:
    """One phrase for the 符合性分析 table: GK overlap area and share, crossing length and share,
    or containment for a point."""
    kind = site_kind(result)
    en = lang == "en"
    if kind == "polygon":
        return (f"{fmt_area(h.area_m2)} (GK plane), {h.share:.1%} of the site" if en
                else f"{t('hit_area_gk', lang)} {fmt_area(h.area_m2)}，占项目 {h.share:.1%}")
    if kind == "line":
        return (f"crossing length {fmt_length(h.length_m)}, {h.share:.1%} of the line" if en
                else f"穿越长度 {fmt_length(h.length_m)}，占线路长度 {h.share:.1%}")
    return t("contains_site", lang)
