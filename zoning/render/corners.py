"""The 界址点 table of a polygon site, as stored in the result (nothing is recomputed)."""
from __future__ import annotations

from zoning.render.labels import t
from zoning.screening.result import ScreenResult


def corner_table(result: ScreenResult, lang: str = "zh") -> tuple[list[str], list[tuple[str, ...]], str] | None:
    """(headers, rows, note) of the site's corner points; None when the site has none."""
    corners = result.site.corners
    if not corners:
        return None
    multi = any(c["part"] != 1 for c in corners)
    headers = [t("corner_point", lang)] + ([t("corner_part", lang)] if multi else []) + \
        [t("corner_ring", lang), t("corner_x", lang), t("corner_y", lang)]
    rows = [(c["point"], *((str(c["part"]),) if multi else ()), str(c["ring"]), f"{c['x']:.3f}", f"{c['y']:.3f}")
            for c in corners]
    total = result.site.corners_total
    count = t("corner_cut", lang).format(total=f"{total:,}", n=f"{len(corners):,}") \
        if total is not None and total > len(corners) else t("corner_count", lang).format(n=f"{len(corners):,}")
    note = t("corner_note", lang).format(crs=result.site.corners_crs or "—", count=count)  # a cut list says so
    return headers, rows, note
