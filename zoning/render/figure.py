"""A static site map drawn from the layers (no tiles, no network): PNG bytes."""
from __future__ import annotations

import io

import geopandas as gpd
import shapely

from zoning.escape import plot_text
from zoning.render.labels import outcome_label, plot_rc, role_label
from zoning.io.layerset import LayerSet
from zoning.screening.result import ScreenResult
from zoning.vocabulary import NATURE_AREA_FILTER, WATER_SOURCE_FILTER

# role (or a part of one) -> (face colour, edge colour, alpha)
STYLE = {
    "control_unit": ("none", "#9e9e9e", 1.0),
    "red_line": ("#e53935", "#b71c1c", 0.35),
    "protected": ("#43a047", "#1b5e20", 0.30),
    "water_source": ("#1e88e5", "#0d47a1", 0.35),
    "park": ("#8e24aa", "#4a148c", 0.30),
    "no_burn": ("#fb8c00", "#e65100", 0.25),
}
VERDICT_COLOUR = {"prohibited": "#c62828", "conditional": "#ef6c00", "needs_info": "#6d4c41",
                  "compliant": "#2e7d32", None: "#424242"}


def _label(key: str, lang: str) -> str:
    if key == "protected":
        return role_label("nature_area", lang)
    if key == "water_source":
        return role_label("water_source", lang)
    return role_label(key, lang)


def site_figure(result: ScreenResult, layers: LayerSet, *, dpi: int = 110, lang: str = "zh") -> bytes | None:
    """PNG of the site, its buffer rings and the zoning layers around it; None without geometry.
    Labels in Chinese (``lang="en"``: English; also when no CJK font is installed)."""
    if not result.site.wkt or not result.crs_used:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rc, use = plot_rc(lang)
    with plt.rc_context(rc):
        return _draw(result, layers, dpi, use, plt)


def _draw(result: ScreenResult, layers: LayerSet, dpi: int, lang: str, plt) -> bytes:
    from matplotlib.patches import Patch

    epsg = int(result.crs_used.split(":")[1])
    site = gpd.GeoSeries([shapely.from_wkt(result.site.wkt)], crs=4490).to_crs(epsg)
    rings = sorted(result.buffer_rings_m) or [1000.0]
    reach = max(rings[-1] * 1.15, 1500.0)
    minx, miny, maxx, maxy = site.total_bounds
    view = shapely.box(minx - reach, miny - reach, maxx + reach, maxy + reach)
    fig, ax = plt.subplots(figsize=(6.4, 6.4))
    handles = []
    for key, (face, edge, alpha) in STYLE.items():
        label = _label(key, lang)
        role = "protected" if key == "water_source" else key
        if role not in layers.frames or layers.info[role].status != "ok":
            continue
        where = WATER_SOURCE_FILTER if key == "water_source" else (NATURE_AREA_FILTER if key == "protected" else ())
        frame, tree = layers.projected(role, epsg, where)
        idx = tree.query(view, predicate="intersects")
        if len(idx) == 0:
            continue
        clipped = gpd.GeoSeries(shapely.intersection(frame.geometry.values[idx], view), crs=epsg)
        clipped.plot(ax=ax, facecolor=face, edgecolor=edge, alpha=alpha if face != "none" else 1.0,
                     linewidth=0.6 if face == "none" else 0.8)
        handles.append(Patch(facecolor=face if face != "none" else "white", edgecolor=edge, alpha=alpha, label=label))
    colour = VERDICT_COLOUR.get(result.verdict, "#424242")
    for r in rings:
        site.buffer(r).boundary.plot(ax=ax, color="#455a64", linewidth=0.7, linestyle="--")
        top = site.buffer(r).total_bounds[3]
        ax.annotate(f"{r:g} m", (site.centroid.x.iloc[0], top), fontsize=7, color="#455a64", ha="center",
                    va="bottom")
    if site.iloc[0].geom_type.endswith("Point"):
        site.plot(ax=ax, color=colour, markersize=60, marker="*", zorder=5)
    else:
        site.plot(ax=ax, facecolor=colour, edgecolor="black", alpha=0.8, linewidth=1.2, zorder=5)
    site_words = (f"站点 {result.site_id}：{outcome_label(result.verdict, lang)}" if lang == "zh"
                  else f"site {result.site_id}: {outcome_label(result.verdict, lang)}")
    handles.append(Patch(facecolor=colour, edgecolor="black", label=plot_text(site_words)))
    ax.set_xlim(view.bounds[0], view.bounds[2])
    ax.set_ylim(view.bounds[1], view.bounds[3])
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")  # the axes carry no ticks: geopandas' "Easting [metre]" would say nothing
    ax.set_ylabel("")
    # scale bar and north arrow, in the metric CRS
    bar = 10 ** int(len(str(int(reach))) - 1)
    x0, y0 = view.bounds[0] + reach * 0.08, view.bounds[1] + reach * 0.08
    ax.plot([x0, x0 + bar], [y0, y0], color="black", linewidth=3)
    ax.text(x0 + bar / 2, y0 + reach * 0.03, f"{bar / 1000:g} km" if bar >= 1000 else f"{bar:g} m",
            ha="center", fontsize=8)
    ax.annotate("N", xy=(0.94, 0.95), xytext=(0.94, 0.86), xycoords="axes fraction",
                arrowprops={"arrowstyle": "-|>", "color": "black"}, ha="center", fontsize=10)
    sample = ("，合成示例图层" if lang == "zh" else ", synthetic layers") if result.synthetic_layers else ""
    ax.set_title(plot_text(f"{result.site_id}  ({result.crs_used}{sample})"), fontsize=9)
    ax.legend(handles=handles, loc="upper left", fontsize=7, framealpha=0.85)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()
