"""The service's pages: Jinja2 templates (every value autoescaped), words in Chinese and English,
and the Content-Security-Policy every response carries.

Scripts and styles come from this package (``/static/…``) or, for the folium map and the
reports (which are standalone pages with inline scripts and styles), carry a per-response
nonce that :func:`with_nonce` adds; the policy allows nothing else: no inline event handlers,
no remote loads, no plugins, no framing by other sites.
"""
from __future__ import annotations

import re
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
#: static files the app serves, with their media types
STATIC_FILES = {"app.js": "text/javascript", "app.css": "text/css"}

L = {
    "app_title": ("生态环境分区管控智能研判", "Environmental zoning screening"),
    "subtitle": ("三线一单 · 南平市 · 上传或绘制项目范围，获取研判结论、报告和地图",
                 "Three lines, one list · Nanping · upload or draw a site, get the verdict, the report and the map"),
    "switch": ("English", "中文"),
    "site_input": ("项目位置", "Project site"),
    "upload": ("上传文件", "Upload a file"),
    "upload_hint": ("zip（含 SHP 全套）、SHP 文件组、KML/KMZ、GeoJSON、GPKG、CSV/XLSX 界址点表",
                    "zip (a whole shapefile set), SHP set, KML/KMZ, GeoJSON, GPKG, CSV/XLSX corner tables"),
    "paste": ("或粘贴坐标 / 界址点", "or paste coordinates / corner points"),
    "paste_hint": ("例：118.17,26.64 或 118.17,26.64;118.172,26.64;118.172,26.642；多行界址点表：地块编号,点号,X,Y",
                   "e.g. 118.17,26.64 or 118.17,26.64;118.172,26.64;118.172,26.642; corner table lines: "
                   "地块编号,点号,X,Y"),
    "draw_hint": ("或在右侧地图上用“绘制”工具画出范围（单击加点，双击结束），再点“筛查绘制的范围”。",
                  "or draw the footprint on the map with the Draw tool (click to add points, double-click to "
                  "finish), then press “Screen the drawn site”."),
    "crs": ("坐标系", "Coordinate system"),
    "crs_auto": ("自动识别（文件自带或 CGCS2000 经纬度）", "automatic (the file's own, or CGCS2000 lon/lat)"),
    "attributes": ("项目属性", "Project attributes"),
    "name": ("项目名称", "Project name"),
    "industry": ("国民经济行业（GB/T 4754-2017，可输入名称或代码搜索）",
                 "Industry (GB/T 4754-2017: search by name or code)"),
    "two_high": ("是否“两高”项目", "“Two highs” project"),
    "chemical": ("是否化工项目", "Chemical project"),
    "boiler_th": ("锅炉容量（蒸吨/小时）", "Boiler capacity (t/h)"),
    "boiler_fuel": ("锅炉燃料", "Boiler fuel"),
    "energy_tce": ("年综合能耗（吨标准煤）", "Energy use (tce/yr)"),
    "renewable_share": ("可再生能源使用比例（0-1 或 %）", "Renewable power share (0-1 or %)"),
    "clear_share": ("植被清除比例（0-1 或 %）", "Share of vegetation cleared (0-1 or %)"),
    "unknown": ("未填写", "not given"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "screen": ("开始筛查", "Screen"),
    "screen_drawn": ("筛查绘制的范围", "Screen the drawn site"),
    "working": ("正在筛查……", "Screening …"),
    "nothing": ("请上传文件、粘贴坐标，或先在地图上绘制范围。", "Upload a file, paste coordinates, or draw on the map first."),
    "no_drawing": ("地图上还没有绘制的范围：点地图左上角的“绘制”，单击加点，双击结束。",
                   "Nothing drawn yet: press Draw on the map, click to add points, double-click to finish."),
    "results": ("筛查结果", "Results"),
    "open": ("查看", "open"),
    "map": ("地图", "Map"),
    "fuel_coal": ("燃煤", "coal"), "fuel_gas": ("天然气", "gas"), "fuel_oil": ("燃油", "oil"),
    "fuel_biomass": ("生物质", "biomass"), "fuel_electric": ("电", "electric"), "fuel_none": ("无锅炉", "no boiler"),
    "verdict": ("研判结论", "Verdict"),
    "warnings": ("提示（请先阅读）", "Warnings (read first)"),
    "site": ("项目站点", "Site"),
    "clauses": ("管控单元准入清单条款", "Access-list clauses of the control unit"),
    "clause_unit": ("单元", "Unit"), "clause_tier": ("层级", "Tier"), "clause_dim": ("维度", "Dimension"),
    "clause_no": ("序号", "No."), "clause_text": ("条款", "Clause"), "clause_status": ("状态", "Status"),
    "no_clauses": ("本结果未附准入清单条款原文；下表列出判定所依据的规则。",
                   "This result carries no access-list clause texts; the rules it was decided by are below."),
    "not_screened": ("无法筛查", "Could not be screened"),
    "not_screened_rules": ("此站点无法筛查，没有评估任何规则；请按上方原因修正后重新提交。",
                           "This site could not be screened: no rule was evaluated; fix the reason above and "
                           "submit it again."),
    "downloads": ("下载", "Downloads"),
    "dl_html": ("报告（HTML）", "Report (HTML)"), "dl_docx": ("报告（Word DOCX）", "Report (Word DOCX)"),
    "dl_gpkg": ("站点（GeoPackage）", "Site (GeoPackage)"), "dl_shp": ("站点（Shapefile，zip）", "Site (Shapefile, zip)"),
    "dl_json": ("结果（JSON）", "Result (JSON)"), "dl_map": ("地图（HTML）", "Map (HTML)"),
    "back": ("返回，筛查其他项目", "Back: screen another site"),
    "history_id": ("记录编号", "Record id"),
    "screened_at": ("筛查时间（UTC）", "Screened at (UTC)"),
    "disclaimer": ("本筛查为辅助分析，不构成行政审批或许可，以生态环境主管部门审查意见为准。",
                   "Screening is an aid, not an approval or permit; the competent authority decides."),
    "login": ("请输入访问令牌", "Enter the access token"),
    "login_button": ("进入", "Enter"),
    "token": ("令牌", "Token"),
    "bad_token": ("令牌不正确", "wrong token"),
    "docs": ("API 文档", "API docs"),
    "carbon": ("森林碳储量与碳汇", "Forest carbon"),
}


def labels(lang: str) -> dict:
    """The page words in ``lang``, with ``tiers`` and ``dims``: how a clause's tier and dimension read."""
    from zoning.vocabulary import CLAUSE_TIER_EN, DIMENSION_EN

    i = 1 if lang == "en" else 0
    words: dict = {k: v[i] for k, v in L.items()}
    words["tiers"] = dict(CLAUSE_TIER_EN) if lang == "en" else {}
    words["dims"] = dict(DIMENSION_EN) if lang == "en" else {}
    return words


def lang_of(value: str | None) -> str:
    return "en" if (value or "").lower().startswith("en") else "zh"


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


_env: Environment | None = None


def env() -> Environment:
    global _env
    if _env is None:
        _env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(default=True),
                           trim_blocks=True, lstrip_blocks=True)
    return _env


def render(name: str, **context) -> str:
    return env().get_template(name).render(**context)


_TAGS = re.compile(r"<(script|style)\b(?![^>]*\bnonce=)|<link\b(?=[^>]*\brel=[\"']?stylesheet)(?![^>]*\bnonce=)", re.I)


def with_nonce(page: str, nonce: str) -> str:
    """Give every ``<script>``, ``<style>`` and stylesheet ``<link>`` of a trusted generated page
    (the folium map, the reports) the response's nonce, so the strict policy lets them run."""
    return _TAGS.sub(lambda m: m.group(0) + f' nonce="{nonce}"', page)


def csp(nonce: str, *, tile_hosts: tuple[str, ...] = ()) -> str:
    """The Content-Security-Policy of a page: only this origin and the page's own nonce."""
    images = " ".join(("'self'", "data:", "blob:") + tile_hosts)
    return ("default-src 'none'; "
            f"script-src 'self' 'nonce-{nonce}'; script-src-attr 'none'; "
            f"style-src 'self' 'nonce-{nonce}'; style-src-attr 'unsafe-inline'; "
            f"img-src {images}; font-src 'self' data:; connect-src 'self'; media-src 'none'; "
            "object-src 'none'; frame-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'none'")


def tile_hosts(basemaps: list[dict]) -> tuple[str, ...]:
    """Origins of configured basemap tiles ({s} subdomains widened to a wildcard)."""
    hosts = []
    for bm in basemaps or []:
        for url in bm.get("urls", []):
            parts = urlsplit(url.replace("{s}", "x"))
            host = parts.netloc
            if "{s}" in url:
                host = "*." + host.split(".", 1)[1] if "." in host else host
            hosts.append(f"{parts.scheme}://{host}")
    return tuple(dict.fromkeys(hosts))


def static_file(name: str) -> tuple[bytes, str] | None:
    if name not in STATIC_FILES:
        return None
    return (STATIC / name).read_bytes(), STATIC_FILES[name]
