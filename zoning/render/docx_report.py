"""Word (.docx) report with the same content as the HTML report and a static map figure."""
from __future__ import annotations

import io

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from zoning.escape import docx_text as _x
from zoning.screening.result import ScreenResult
from zoning.render.carbon_rows import carbon_rows
from zoning.render.clauses import checklist, clause_table, opinion_text
from zoning.render.compliance import compliance_rows
from zoning.render.corners import corner_table
from zoning.render.labels import STATUS_ZH, dimension_label, fmt_m, outcome_label, role_label, t
from zoning.render.sizes import area_note, hit_cells, hit_headers, site_size_rows

COLOURS = {"prohibited": RGBColor(0xC6, 0x28, 0x28), "conditional": RGBColor(0xEF, 0x6C, 0x00),
           "needs_info": RGBColor(0x6D, 0x4C, 0x41), "compliant": RGBColor(0x2E, 0x7D, 0x32)}


def _east_asian_font(doc: Document, name: str = "宋体") -> None:
    style = doc.styles["Normal"]
    style.font.name = "Times New Roman"
    style.font.size = Pt(10.5)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), name)


def _table(doc: Document, headers, rows) -> None:
    table = doc.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    for cell, h in zip(table.rows[0].cells, headers):
        cell.text = _x(h)
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for row in rows:
        cells = table.add_row().cells
        for cell, value in zip(cells, row):
            cell.text = _x(value)


def render_docx(result: ScreenResult, *, lang: str = "zh", figure_png: bytes | None = None) -> bytes:
    """The report as .docx bytes."""
    r = result
    doc = Document()
    _east_asian_font(doc)
    head = doc.add_heading(_x(t("title", lang)), level=1)
    head.alignment = WD_ALIGN_PARAGRAPH.CENTER
    if r.synthetic_layers or r.rule_pack.get("synthetic"):
        p = doc.add_paragraph(_x(t("synthetic_notice", lang)))
        p.runs[0].font.color.rgb = RGBColor(0xB2, 0x6A, 0x00)
    p = doc.add_paragraph(_x(f"{t('verdict', lang)}{': ' if lang == 'en' else '：'}"))
    run = p.add_run(_x(outcome_label(r.verdict, lang)))
    run.bold = True
    if r.verdict in COLOURS:
        run.font.color.rgb = COLOURS[r.verdict]
    if r.error:
        doc.add_paragraph(_x(r.error))
    # why the verdict, then every warning: at the top, where a reviewer reads first
    for x in r.verdict_reasons:
        doc.add_paragraph(_x(x), style="List Bullet")
    if r.warnings_beyond_reasons():
        doc.add_heading(_x(t("warnings", lang)), level=2)
        for w in r.warnings_beyond_reasons():
            doc.add_paragraph(_x(w), style="List Bullet")
    s = r.site
    doc.add_heading(_x(t("site", lang)), level=2)
    _table(doc, ["", ""], [
        (t("site_id", lang), r.site_id), (t("name", lang), s.name or r.inputs.get("name") or "—"),
        (t("county", lang), s.county or "—"), (t("geom", lang), s.geom_type or "—"),
        (t("centroid", lang), f"{s.lon:.6f}°E, {s.lat:.6f}°N" if s.lon is not None else "—"),
        *site_size_rows(r, lang),
        (t("crs_in", lang), s.crs_in), (t("crs_used", lang), r.crs_used or "—"),
        (t("rule_pack", lang), f"{r.rule_pack['name']} v{r.rule_pack['version']}")])
    if area_note(r, lang):
        doc.add_paragraph(_x(area_note(r, lang)))
    corners = corner_table(r, lang)
    if corners:
        headers, crows_, cnote = corners
        doc.add_heading(_x(t("corners", lang)), level=2)
        doc.add_paragraph(_x(cnote))
        _table(doc, headers, crows_)
    if not r.error:
        doc.add_heading(_x(t("compliance", lang)), level=2)
        _table(doc, [t("line", lang), t("situation", lang), t("conformity", lang), t("notes", lang)],
               [(c.line, c.situation, c.conformity, "\n".join(c.notes)) for c in compliance_rows(r, lang)])
        ctable = clause_table(r, lang)
        if ctable:
            doc.add_heading(_x(t("clauses", lang)), level=2)
            doc.add_paragraph(_x(t("clauses_note", lang)))
            _table(doc, *ctable)
            todo = checklist(r, lang)
            if todo:
                doc.add_heading(_x(t("checklist", lang)), level=3)
                for line in todo:
                    doc.add_paragraph(_x(line))
        if opinion_text(r, lang):
            doc.add_heading(_x(t("opinion", lang)), level=2)
            note = doc.add_paragraph()
            note.add_run(_x(t("opinion_note", lang))).bold = True
            doc.add_paragraph(_x(opinion_text(r, lang)))
        doc.add_heading(_x(t("rules", lang)), level=2)
        _table(doc, [t(k, lang) for k in ("rule_id", "outcome", "dimension", "message", "citation", "reasons")],
               [(x.id, outcome_label(x.outcome, lang), dimension_label(x.dimension, lang),
                 x.message_en if lang == "en" else x.message, x.citation, "; ".join(x.reasons)) for x in r.rules])
        doc.add_heading(_x(t("hits", lang)), level=2)
        _table(doc, [t(k, lang) for k in ("role", "feature", "class")] + hit_headers(r, lang),
               [(role_label(h.role, lang), f"{h.name} ({h.id})", h.cls or "—", *hit_cells(h, r, lang))
                for h in r.hits])
        doc.add_heading(_x(t("nearest", lang)), level=2)
        _table(doc, [t(k, lang) for k in ("role", "feature", "distance")],
               [(role_label(n.target, lang), f"{n.name} ({n.id})" if n.id else "—", fmt_m(n.distance_m))
                for n in r.nearest])
        if r.buffers:
            doc.add_heading(_x(t("buffers", lang)), level=2)
            _table(doc, [t(k, lang) for k in ("ring", "role", "feature", "class", "distance")],
                   [(f"≤ {b.ring_m:g} m", role_label(b.role, lang), f"{b.name} ({b.id})", b.cls or "—",
                     fmt_m(b.distance_m)) for b in r.buffers])
    crows = carbon_rows(r.carbon, lang) if not r.error else []
    if crows:
        doc.add_heading(_x(t("carbon", lang)), level=2)
        _table(doc, ["", ""], crows)
    if figure_png:
        doc.add_heading(_x(t("figure", lang)), level=2)
        doc.add_picture(io.BytesIO(figure_png), width=Cm(15))
    doc.add_heading(_x(t("inputs", lang)), level=2)
    _table(doc, ["", ""], [(k, "—" if v is None else v) for k, v in r.inputs.items()])
    doc.add_heading(_x(t("layers", lang)), level=2)
    _table(doc, [t(k, lang) for k in ("role", "name", "vintage", "status", "synthetic")],
           [(role_label(x.role, lang), x.name, x.vintage, STATUS_ZH.get(x.status, x.status) if lang != "en" else x.status,
             t("yes" if x.synthetic else "no", lang)) for x in r.layers])
    doc.add_paragraph(_x(t("disclaimer", lang)))
    doc.add_paragraph(_x(f"{t('generated_by', lang)} {r.zoning_version} · schema {r.schema_version}"))
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
