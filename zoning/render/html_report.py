"""Self-contained HTML report (inline CSS, figure as a data: URI; no external resources)."""
from __future__ import annotations

import base64

from zoning.escape import html_text
from zoning.screening.result import ScreenResult
from zoning.render.carbon_rows import carbon_rows
from zoning.render.clauses import checklist, clause_table, opinion_text
from zoning.render.compliance import compliance_rows
from zoning.render.corners import corner_table
from zoning.render.labels import (STATUS_ZH, dimension_label, fmt_m, outcome_label, role_label, t)
from zoning.render.sizes import area_note, hit_cells, hit_headers, site_size_rows
from zoning.vocabulary import OUTCOMES

CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei","PingFang SC",SimSun,sans-serif;margin:2em auto;max-width:60em;
color:#212121;line-height:1.5}h1{font-size:1.5em}h2{font-size:1.15em;border-bottom:2px solid #90a4ae;margin-top:1.6em}
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{border:1px solid #b0bec5;padding:.3em .5em;
vertical-align:top;text-align:left}th{background:#eceff1}.v{display:inline-block;padding:.2em .8em;border-radius:4px;
color:#fff;font-weight:bold}.prohibited{background:#c62828}.conditional{background:#ef6c00}.needs_info{background:#6d4c41}
.compliant{background:#2e7d32}.error{background:#424242}.note{background:#fff8e1;border-left:4px solid #ffb300;
padding:.5em 1em}.small{font-size:.85em;color:#546e7a}img{max-width:100%}
"""


def _e(value) -> str:
    """Every text of the report goes through the one HTML escaping function (quotes included)."""
    return html_text(value)


def _cls(outcome) -> str:
    """A verdict/outcome as a CSS class: one of ours, whatever a result file says."""
    return outcome if outcome in OUTCOMES else "error"


def _table(headers, rows) -> str:
    """``headers`` None gives a key-value table without a header row. Cells are pre-escaped."""
    head = "" if headers is None else "<thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in headers) + "</tr></thead>"
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table>{head}<tbody>{body}</tbody></table>"


def render_html(result: ScreenResult, *, lang: str = "zh", figure_png: bytes | None = None) -> str:
    """The report as one HTML string. Every attribute text is escaped."""
    r = result
    L = lambda k: _e(t(k, lang))  # noqa: E731
    verdict_cls = _cls(r.verdict)
    parts = [f"<!DOCTYPE html><html lang=\"{'en' if lang == 'en' else 'zh-CN'}\"><head><meta charset=\"utf-8\">",
             f"<title>{L('title')} — {_e(r.site_id)}</title><style>{CSS}</style></head><body>",
             f"<h1>{L('title')}</h1>"]
    if r.synthetic_layers or r.rule_pack.get("synthetic"):
        parts.append(f"<p class=\"note\">{L('synthetic_notice')}</p>")
    colon = ": " if lang == "en" else "："
    parts.append(f"<p>{L('verdict')}{colon}<span class=\"v {verdict_cls}\">{_e(outcome_label(r.verdict, lang))}</span></p>")
    if r.error:
        parts.append(f"<p class=\"note\">{_e(r.error)}</p>")
    # why the verdict, then every warning: at the top, where a reviewer reads first
    if r.verdict_reasons:
        parts.append("<ul class=\"reasons\">" + "".join(f"<li>{_e(x)}</li>" for x in r.verdict_reasons) + "</ul>")
    if r.warnings_beyond_reasons():
        parts.append(f"<h2 id=\"warnings\">{L('warnings')}</h2><ul class=\"warnings\">"
                     + "".join(f"<li>{_e(w)}</li>" for w in r.warnings_beyond_reasons()) + "</ul>")
    s = r.site
    info = [(t("site_id", lang), _e(r.site_id)), (t("name", lang), _e(s.name or r.inputs.get("name") or "—")),
            (t("county", lang), _e(s.county or "—")), (t("geom", lang), _e(s.geom_type or "—")),
            (t("centroid", lang), _e(f"{s.lon:.6f}°E, {s.lat:.6f}°N" if s.lon is not None else "—")),
            *((label, _e(value)) for label, value in site_size_rows(r, lang)),
            (t("crs_in", lang), _e(s.crs_in)), (t("crs_used", lang), _e(r.crs_used or "—")),
            (t("rule_pack", lang), _e(f"{r.rule_pack['name']} v{r.rule_pack['version']}"))]
    parts.append(f"<h2>{L('site')}</h2>" + _table(None, [(f"<b>{_e(k)}</b>", v) for k, v in info]))
    if area_note(r, lang):
        parts.append(f"<p class=\"small\">{_e(area_note(r, lang))}</p>")
    corners = corner_table(r, lang)
    if corners:
        headers, crows_, cnote = corners
        parts.append(f"<h2 id=\"corners\">{L('corners')}</h2><p class=\"small\">{_e(cnote)}</p>"
                     + _table(headers, [tuple(_e(v) for v in row) for row in crows_]))
    if not r.error:
        rows = [(_e(c.line), _e(c.situation), f"<span class=\"v {_cls(c.outcome)}\">{_e(c.conformity)}</span>",
                 "<br>".join(_e(n) for n in c.notes)) for c in compliance_rows(r, lang)]
        parts.append(f"<h2>{L('compliance')}</h2>" +
                     _table([t("line", lang), t("situation", lang), t("conformity", lang), t("notes", lang)], rows))
        ctable = clause_table(r, lang)
        if ctable:
            cheaders, crows = ctable
            parts.append(f"<h2 id=\"clauses\">{L('clauses')}</h2><p class=\"small\">{_e(t('clauses_note', lang))}</p>"
                         + _table(cheaders, [tuple(_e(v) for v in row) for row in crows]))
            todo = checklist(r, lang)
            if todo:
                parts.append(f"<h3>{L('checklist')}</h3><ul class=\"checklist\">"
                             + "".join(f"<li>{_e(x)}</li>" for x in todo) + "</ul>")
        if opinion_text(r, lang):
            parts.append(f"<h2 id=\"opinion\">{L('opinion')}</h2><p class=\"small\"><b>{_e(t('opinion_note', lang))}</b></p>"
                         f"<p class=\"opinion\">{_e(opinion_text(r, lang))}</p>")
        rrows = [(_e(x.id), f"<span class=\"v {_cls(x.outcome)}\">{_e(outcome_label(x.outcome, lang))}</span>",
                  _e(dimension_label(x.dimension, lang)), _e(x.message_en if lang == "en" else x.message),
                  _e(x.citation), _e("; ".join(x.reasons))) for x in r.rules]
        parts.append(f"<h2>{L('rules')}</h2>" + (_table([t(k, lang) for k in ("rule_id", "outcome", "dimension",
                                                                              "message", "citation", "reasons")], rrows)
                                                 if rrows else f"<p>{L('none')}</p>"))
        hrows = [(_e(role_label(h.role, lang)), _e(f"{h.name} ({h.id})"), _e(h.cls or "—"),
                  *(_e(c) for c in hit_cells(h, r, lang))) for h in r.hits]
        parts.append(f"<h2>{L('hits')}</h2>" + _table([t(k, lang) for k in ("role", "feature", "class")]
                                                      + hit_headers(r, lang), hrows))
        nrows = [(_e(role_label(n.target, lang)), _e(f"{n.name} ({n.id})" if n.id else "—"), _e(fmt_m(n.distance_m)))
                 for n in r.nearest]
        parts.append(f"<h2>{L('nearest')}</h2>" + _table([t(k, lang) for k in ("role", "feature", "distance")], nrows))
        brows = [(_e(f"≤ {b.ring_m:g} m"), _e(role_label(b.role, lang)), _e(f"{b.name} ({b.id})"), _e(b.cls or "—"),
                  _e(fmt_m(b.distance_m))) for b in r.buffers]
        parts.append(f"<h2>{L('buffers')}</h2>" + (_table([t(k, lang) for k in ("ring", "role", "feature", "class",
                                                                                "distance")], brows)
                                                   if brows else f"<p>{L('none')}</p>"))
        crows = carbon_rows(r.carbon, lang)
        if crows:
            parts.append(f"<h2>{L('carbon')}</h2>" + _table(None, [(f"<b>{_e(k)}</b>", _e(v)) for k, v in crows]))
    if figure_png:
        uri = "data:image/png;base64," + base64.b64encode(figure_png).decode("ascii")
        parts.append(f"<h2>{L('figure')}</h2><img alt=\"site map\" src=\"{uri}\">")
    irows = [(_e(k), _e("—" if v is None else v)) for k, v in r.inputs.items()]
    parts.append(f"<h2>{L('inputs')}</h2>" + _table(None, irows))
    lrows = [(_e(role_label(x.role, lang)), _e(x.name), _e(x.vintage),
              _e(STATUS_ZH.get(x.status, x.status) if lang != "en" else x.status),
              _e(t("yes" if x.synthetic else "no", lang))) for x in r.layers]
    parts.append(f"<h2>{L('layers')}</h2>" + _table([t(k, lang) for k in ("role", "name", "vintage", "status",
                                                                          "synthetic")], lrows))
    parts.append(f"<p>{L('rule_pack')}{': ' if lang == 'en' else '：'}{_e(r.rule_pack['name'])}"
                 f"{', ' if lang == 'en' else '，'}{_e('version')} {_e(r.rule_pack['version'])}</p>")
    parts.append(f"<p class=\"note\">{L('disclaimer')}</p>")
    parts.append(f"<p class=\"small\">{L('generated_by')} {_e(r.zoning_version)} · schema {_e(r.schema_version)}</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
