"""Write screening outputs into a folder: JSON, reports, summaries, GeoPackages."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from zoning.escape import safe_filename
from zoning.io.atomic import check_folder_writable, staged_folder
from zoning.io.vector import write_vector
from zoning.io.layerset import LayerSet
from zoning.screening.result import ScreenResult
from zoning.render.summary import csv_frame, summary_geoframe

def safe_name(text: str, used: set[str]) -> str:
    """A file-name-safe, unique stem for a site id (:func:`zoning.escape.safe_filename`: no path
    separators, no dots at the front, no device names, bounded length)."""
    stem = safe_filename(text, default="site")
    name, n = stem, 1
    while name.lower() in used:
        n += 1
        name = f"{stem}_{n}"
    used.add(name.lower())
    return name


def file_stems(ids: list[str]) -> list[str]:
    """A unique file stem per id, in order: ids that are safe file names as they are keep them
    (the first of equal ones, letter case ignored), then the others get their cleaned form, with
    ``_2``, ``_3`` … where that is taken."""
    used: set[str] = set()
    stems: list[str | None] = [None] * len(ids)
    for k, sid in enumerate(ids):
        clean = safe_filename(str(sid), default="site")
        if clean == str(sid) and clean.lower() not in used:
            stems[k] = clean
            used.add(clean.lower())
    for k, sid in enumerate(ids):
        if stems[k] is None:
            stems[k] = safe_name(str(sid), used)
    return stems


def result_json(result: ScreenResult) -> str:
    return result.to_json_file_text()


MAX_MAP_SITES = 5000  # beyond this a batch map gets heavy; draw it with `zoning map --result`


def _plan(results: list[ScreenResult], out_dir: Path, reports: bool) -> dict[str, Path]:
    if len(results) == 1:
        plan = {"result": out_dir / "result.json", "summary_csv": out_dir / "summary.csv",
                "sites_gpkg": out_dir / "sites.gpkg", "map": out_dir / "map.html"}
        if reports:
            plan.update({"report_html": out_dir / "report.html", "report_docx": out_dir / "report.docx"})
        return plan
    plan = {"summary_csv": out_dir / "summary.csv", "summary_gpkg": out_dir / "summary.gpkg"}
    if len(results) <= MAX_MAP_SITES:
        plan["map"] = out_dir / "map.html"
    # keyed by position: two results with the same id (duplicate ids are error rows) keep a file each.
    # Ids that are file names as they are take theirs first (in order): "a_b" is never a_b_2.json
    # because an earlier "a/b" was cleaned to a_b
    stems = file_stems([r.site_id for r in results])
    for k, stem in enumerate(stems):
        plan[f"result:{k}"] = out_dir / "results" / f"{stem}.json"
        if reports:
            plan[f"html:{k}"] = out_dir / "reports" / f"{stem}.html"
            plan[f"docx:{k}"] = out_dir / "reports" / f"{stem}.docx"
    return plan


def write_screen_outputs(results: list[ScreenResult], out_dir: Path | str, *, layers: LayerSet, lang: str = "zh",
                         reports: bool = True, overwrite: bool = False,
                         progress: Callable[[int, int], None] | None = None,
                         source=None) -> dict[str, Path]:
    """Write every output of a screening into ``out_dir``, whole: staged, then swapped in.
    ``source``: the site file's own columns (a row per result), carried into the summaries.

    Refuses (before writing anything) when ``out_dir`` holds an earlier output and not
    ``overwrite``. Returns the files written (key -> final path).
    """
    out_dir = Path(out_dir)
    check_folder_writable(out_dir, overwrite=overwrite)
    from zoning.render.docx_report import render_docx
    from zoning.render.figure import site_figure
    from zoning.render.html_report import render_html
    from zoning.render.maps import assert_static_page

    single = len(results) == 1
    with staged_folder(out_dir, overwrite=overwrite) as stage:
        plan = _plan(results, stage, reports)
        (stage / "results").mkdir(exist_ok=True) if not single else None
        (stage / "reports").mkdir(exist_ok=True) if reports and not single else None
        csv_frame(results, source).to_csv(plan["summary_csv"], index=False, encoding="utf-8-sig")
        write_vector(summary_geoframe(results, source), plan["sites_gpkg" if single else "summary_gpkg"],
                     driver="GPKG", layer="sites")
        if "map" in plan:
            from zoning.render.maps import basemaps_from_env, build_map, map_html

            plan["map"].write_text(map_html(build_map(layers, results, lang=lang, basemaps=basemaps_from_env())),
                                   encoding="utf-8")
        for i, r in enumerate(results, 1):
            json_path = plan["result"] if single else plan[f"result:{i - 1}"]
            json_path.write_text(result_json(r), encoding="utf-8")
            if reports:
                html_path = plan["report_html"] if single else plan[f"html:{i - 1}"]
                docx_path = plan["report_docx"] if single else plan[f"docx:{i - 1}"]
                fig = site_figure(r, layers, lang=lang)  # drawn once, shared by both reports
                page = render_html(r, lang=lang, figure_png=fig)
                assert_static_page(page)  # a report runs no script and loads nothing, whatever the data
                html_path.write_text(page, encoding="utf-8")
                docx_path.write_bytes(render_docx(r, lang=lang, figure_png=fig))
            if progress:
                progress(i, len(results))
    return {key: out_dir / path.relative_to(stage) for key, path in plan.items()}
