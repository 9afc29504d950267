"""The ASGI app behind ``zoning serve``: pages for reviewers and a JSON API, over the public API.

The layer set and the rule pack are loaded once, when the app is made; every request screens
with :func:`zoning.screen`, renders with the report and map renderers and stores the result in
the history (:mod:`zoning.service.history`). Nothing is recomputed here.

Endpoints (see README "Service" and ``/docs``):

    GET  /                                      page: site input, attributes, map (Chinese; ?lang=en)
    GET  /map                                   the folium map of the layers (offline, inline assets)
    GET  /screenings/{id}                       page: verdict, 符合性分析, clauses, warnings, map, downloads
    POST /api/v1/screen                         JSON {"site", "attributes", "crs"} or multipart (file + fields)
    GET  /api/v1/screenings/{id}[/report.html|/report.docx|/map.html|/sites.gpkg|/sites_shp.zip]
    GET  /api/v1/screenings                     the latest screenings (history)
    POST /api/v1/jobs                           multipart file of any size -> {"id"}
    GET  /api/v1/jobs/{id}[/summary.csv|/results.zip]
    GET  /api/v1/industries?q=                  GB/T 4754-2017 search (codes and names)
    GET  /api/v1/health, /api/v1/openapi.json, /docs
"""
from __future__ import annotations

import dataclasses
import hmac
import io
import json
import logging
import os
import re
import shutil
import tempfile
import time
import zipfile
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

import geopandas as gpd
import numpy as np
import pandas as pd
import python_multipart  # noqa: F401  (FastAPI's form parser: fail at start, not at the first upload)
import shapely
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from zoning._version import __version__
from zoning.api import explore, load_layers, read_sites, screen
from zoning.errors import (AttributeProblem, NotFound, OutsideLayers, RequestProblem, SiteError, UnsafeUpload,
                           UploadTooLarge, ZoningError)
from zoning.render.compliance import compliance_rows
from zoning.render.carbon_rows import carbon_rows
from zoning.render.clauses import status_label
from zoning.render.labels import outcome_label, role_label, t
from zoning.screening.result import ScreenResult
from zoning.io.sites import MAX_COORDINATE
from zoning.service.errors import _one_line, error_body, error_response, install
from zoning.service.history import History
from zoning.service.jobs import JobRunner
from zoning.service.pages import csp, labels, lang_of, new_nonce, render, static_file, tile_hosts, with_nonce
from zoning.service.settings import Settings
from zoning.service.uploads import Upload, check_size, read_upload, save_files
from zoning.vocabulary import CLAUSE_STATUSES, OUTCOMES

log = logging.getLogger("zoning.service")

API = "/api/v1"
#: members a JSON screening request may have
JSON_KEYS = {"site", "attributes", "crs", "layer", "lang"}
#: multipart fields that are not project attributes
FORM_KEYS = {"file", "crs", "layer", "lang", "attributes", "text"}
#: paths open without the token (the login page, static files and the health check)
OPEN_PATHS = ("/login", "/static/", f"{API}/health")


class Service:
    """Everything the app holds: settings, layers, rule pack, history, jobs, caches."""

    def __init__(self, settings: Settings, layers=None, history: History | None = None):
        from zoning.screening.pipeline import resolve_rule_pack

        self.settings = settings
        self.layers = layers if layers is not None else load_layers(settings.catalog, engine=settings.engine)
        self.rule_pack = resolve_rule_pack(None, self.layers.catalog)
        self.history = history if history is not None else History(settings.db_url())
        self.work = settings.work_dir()
        self.jobs = JobRunner(self)
        self.tile_hosts = tile_hosts(settings.basemaps)
        self._maps: dict[str, str] = {}
        self._industries: list[dict] | None = None
        self.started = time.time()

    def close(self) -> None:
        self.jobs.shutdown()
        self.history.close()
        if self.settings.work is None:  # a shared work folder belongs to ``serve``
            shutil.rmtree(self.work, ignore_errors=True)

    def new_folder(self, kind: str) -> Path:
        return Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=self.work))

    # -- cached pages ----------------------------------------------------------------------------
    def layers_map(self, lang: str) -> str:
        if lang not in self._maps:
            m = explore(layers=self.layers, lang=lang, basemaps=self.settings.basemaps)
            from zoning.render.maps import map_html

            self._maps[lang] = map_html(m)
        return self._maps[lang]

    def industries(self) -> list[dict]:
        if self._industries is None:
            from zoning.screening.attributes import industry_table

            table = industry_table()
            letter = {}
            for sec, info in table["sections"].items():
                lo, hi = (int(x) for x in info["divisions"])
                for d in range(lo, hi + 1):
                    letter[f"{d:02d}"] = sec
            items = [{"code": sec, "name": info["name"], "level": "section"} for sec, info in table["sections"].items()]
            for level, key in (("division", "divisions"), ("group", "groups"), ("class", "classes")):
                for code, name in table[key].items():
                    code = str(code)
                    items.append({"code": letter.get(code[:2], "") + code, "name": str(name), "level": level})
            self._industries = items
        return self._industries

    # -- screening -------------------------------------------------------------------------------
    def screen_and_store(self, sites, *, attributes: dict, crs, source: str, inputs: dict) -> list[dict]:
        results = screen(sites, layers=self.layers, rule_pack=self.rule_pack, attributes=attributes, crs=crs,
                                compute="local")
        if not len(results):
            raise SiteError("没有可筛查的站点", "no site to screen")
        # one site that fails is the request's error (4xx); several sites are answered row by row,
        # each with its reason, even when every one of them failed (as the CLI writes error rows)
        if len(results) == 1 and results[0].error:
            zh, en = _split_error(results[0].error)
            raise SiteError(zh, en)
        if len(results) == 1 and results[0].site.coverage == "outside":  # however the one site was sent
            name = self.layers.catalog.name
            raise OutsideLayers(f"站点 {results[0].site_id} 完全位于图层范围（{name}）以外，无法筛查；请检查坐标和坐标系",
                                f"site {results[0].site_id} lies wholly outside the area of the layer set ({name}); "
                                f"nothing can be screened there: check the coordinates and the CRS")
        keys = self.history.add_screenings(list(results), source=source, inputs=inputs)
        return [dataclasses.replace(r, id=k).to_dict() for r, k in zip(results, keys)]

    def result(self, key: str) -> ScreenResult:
        row = self.history.screening(key)
        return ScreenResult.from_dict(json.loads(row["result"]))


def _split_error(text: str | None) -> tuple[str, str]:
    """The Chinese and English halves of ``ZoningError.one_line()`` text."""
    text = text or "无法筛查 | Error: the site could not be screened"
    zh, _, en = text.partition(" | Error: ")
    return zh.removeprefix("错误：").strip(), (en or zh).strip()


#: characters of a one-line coordinate string in a JSON ``site`` (a few thousand vertices); text of
#: several lines (界址点 tables) is limited by the request body's size, like the same file uploaded
MAX_COORDINATE_TEXT = 100_000
#: deepest nesting of arrays/objects in a JSON body (a MultiPolygon nests 4 levels, a FeatureCollection 7)
MAX_JSON_DEPTH = 64
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(r"[\[\]{}]")


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _loads(raw: bytes, what_zh: str, what_en: str):
    """A JSON document, or a 400 ``invalid_json``: not UTF-8, not JSON, NaN/Infinity, too deep."""
    try:
        text = raw.decode("utf-8")
        if text.count("[") + text.count("{") > MAX_JSON_DEPTH:  # bracket depth before the recursive parser
            depth = 0
            for m in _BRACKETS.finditer(_STRINGS.sub('""', text)):
                depth += 1 if m.group(0) in "[{" else -1
                if depth > MAX_JSON_DEPTH:
                    raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
        return json.loads(text, parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        detail = _one_line(str(exc))[:200]
        err = RequestProblem(f"{what_zh}不是有效的 JSON（{detail}）", f"{what_en} is not valid JSON ({detail})")
        err.code = "invalid_json"
        raise err from None


def _check_coordinates(geoms, *, many: bool = False) -> list:
    """``geoms`` with coordinates beyond any CRS (or not finite) refused: the request's error for one
    site; for several, that site's geometry is dropped, so it comes back as an error row."""
    out = list(geoms)
    for i, g in enumerate(out):
        if g is None:
            continue
        coords = shapely.get_coordinates(g)
        if coords.size and (not np.isfinite(coords).all() or np.abs(coords).max() > MAX_COORDINATE):
            if not many:
                raise RequestProblem("坐标值无效：超出任何坐标系的范围（或不是有限数）",
                                     "invalid coordinates: beyond the range of any coordinate system (or not finite)")
            out[i] = None
    return out


def _site_frame(site, crs):
    """A GeoJSON geometry, Feature or FeatureCollection (or a coordinate string, or 界址点 text) as sites."""
    from zoning.io.sites import geojson_problem

    if isinstance(site, str):
        if not site.strip():
            raise RequestProblem("site 为空", "'site' is empty")
        # text from a client is coordinates or 界址点 only: never opened as a path on the server
        if "\n" not in site.strip() and "\r" not in site.strip():  # one line: coordinates
            if len(site) > MAX_COORDINATE_TEXT:  # longer text is a table: its size is the body's limit
                raise UploadTooLarge(f"坐标字符串超过 {MAX_COORDINATE_TEXT:,} 个字符：请分行发送（界址点表）或上传文件",
                                     f"the coordinate string is longer than {MAX_COORDINATE_TEXT:,} characters: send it "
                                     f"as lines (a corner table) or upload a file")
            return read_sites(site.strip(), crs=crs, on_error="raise", allow_paths=False), None, False
        # several lines: 界址点 text or a corner/point table, read as the same .txt/.csv upload is
        # (from memory); several sites are a list with their error rows, one site its own error
        frame = read_sites(site, crs=crs, on_error="flag", allow_paths=False)
        if len(frame) == 1 and isinstance(frame["error"].iloc[0], str):
            read_sites(site, crs=crs, on_error="raise", allow_paths=False)  # its error, with its own class
        if len(frame) > 1 or isinstance(frame["error"].iloc[0], str):
            return frame, None, True
        return frame.drop(columns="error"), None, False
    if not isinstance(site, dict) or not isinstance(site.get("type"), str):
        raise RequestProblem("site 应为 GeoJSON 几何、Feature 或 FeatureCollection（或坐标字符串）",
                             "'site' must be a GeoJSON geometry, Feature or FeatureCollection (or a coordinate string)")
    kind = site["type"]
    if kind == "FeatureCollection":
        features = site.get("features")
        if not isinstance(features, list) or not features:
            raise RequestProblem("FeatureCollection 中没有要素", "the FeatureCollection has no features")
        many = True
    elif kind == "Feature":
        features, many = [site], False
    else:
        features, many = [{"type": "Feature", "properties": {}, "geometry": site}], False
    geoms, props = [], []
    for i, f in enumerate(features, 1):
        if not isinstance(f, dict) or f.get("type") != "Feature":
            raise RequestProblem(f"第 {i} 个要素不是 GeoJSON Feature", f"feature {i} is not a GeoJSON Feature")
        where = (f"第 {i} 个要素的几何", f"feature {i}: the geometry") if kind in ("Feature", "FeatureCollection") \
            else ("几何", "the geometry")
        problem = geojson_problem(f.get("geometry")) if f.get("geometry") else None
        if problem:  # said plainly: not the parser's own words
            raise RequestProblem(f"{where[0]}无效：{problem[0]}", f"{where[1]} is invalid: {problem[1]}")
        try:
            geom = shapely.geometry.shape(f.get("geometry")) if f.get("geometry") else None
        except Exception:  # noqa: BLE001 - shapely refuses malformed GeoJSON in many ways
            raise RequestProblem(f"{where[0]}无效：坐标不能组成 GeoJSON {str(f['geometry'].get('type'))[:30]}",
                                 f"{where[1]} is invalid: its coordinates do not form a GeoJSON "
                                 f"{str(f['geometry'].get('type'))[:30]}") from None
        p = f.get("properties") or {}
        if not isinstance(p, dict):
            raise RequestProblem(f"第 {i} 个要素的 properties 应为对象", f"feature {i}: 'properties' must be an object")
        _scalar_values(p, f"feature {i} properties" if many else "properties")
        if "id" in f and "id" not in p:
            p = {**p, "id": f["id"]}
        geoms.append(geom)
        props.append(p)
    declared = crs
    geoms = _check_coordinates(geoms, many=len(geoms) > 1)
    legacy = site.get("crs")
    if legacy is not None and not (isinstance(legacy, dict) and isinstance(legacy.get("properties"), dict)):
        raise RequestProblem("GeoJSON 的 crs 成员应为 {\"type\": \"name\", \"properties\": {\"name\": \"EPSG:4490\"}}",
                             "the GeoJSON member 'crs' must be {\"type\": \"name\", \"properties\": "
                             "{\"name\": \"EPSG:4490\"}}")
    legacy = legacy["properties"].get("name") if legacy is not None else None
    if legacy is not None and not isinstance(legacy, str):
        raise RequestProblem("GeoJSON 的 crs.properties.name 应为字符串，例如 \"EPSG:4490\"",
                             "the GeoJSON member crs.properties.name must be a string such as \"EPSG:4490\"")
    frame_crs = None
    if declared is None:
        if legacy and "CRS84" not in legacy.upper():
            declared = legacy.rsplit(":", 1)[-1] if "EPSG" in legacy.upper() else legacy
        else:
            frame_crs = 4326  # RFC 7946: GeoJSON is WGS 84 longitude/latitude
    frame = gpd.GeoDataFrame(pd.DataFrame(props, index=range(len(geoms))), geometry=geoms, crs=frame_crs)
    return frame, declared, many


def _check_attributes(value) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RequestProblem("attributes 应为对象，例如 {\"industry\": \"C2614\"}",
                             "'attributes' must be an object, e.g. {\"industry\": \"C2614\"}")
    from zoning.screening.attributes import parse_mapping

    _scalar_values(value, "attributes")
    parse_mapping(value)  # unknown keys and bad values are refused here with the list of keys
    return value


def _scalar_values(mapping: dict, where: str) -> None:
    """Attribute values are text, numbers, true/false or null: an object or a list is refused by name."""
    for key, v in mapping.items():
        if isinstance(v, (dict, list)):
            raise AttributeProblem(f"{where} 中 {str(key)[:60]} 的值应为文本、数字或 true/false，不能是对象或列表",
                                   f"{where}: the value of {str(key)[:60]!r} must be text, a number or true/false, "
                                   f"not an object or a list")


def _crs_value(value):
    if value in (None, "", "auto"):
        return None
    if not isinstance(value, (str, int)):
        raise RequestProblem("crs 应为字符串，例如 \"4490\"、\"EPSG:4548\" 或 \"gcj02\"",
                             "'crs' must be a string such as \"4490\", \"EPSG:4548\" or \"gcj02\"")
    return str(value)


def _with_geometry(r: ScreenResult) -> ScreenResult:
    """The site files (GPKG, zipped SHP) exist only for a site with a geometry: both answer alike."""
    if not r.site.wkt:
        raise NotFound("此记录没有站点几何（无法筛查的站点），没有站点文件可下载",
                       "this screening has no site geometry (a site that could not be screened): no site file")
    return r


def _download(content: bytes, filename: str, media: str) -> Response:
    ascii_name = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in filename)
    disp = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return Response(content, media_type=media, headers={"Content-Disposition": disp})


class BodyLimit:
    """Refuses request bodies over the limit while they stream in (pure ASGI, before any parsing)."""

    def __init__(self, app, limit: int, job_limit: int | None = None):
        self.app, self.default, self.job_limit = app, limit, job_limit or limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        # a batch job has its own (larger) limit; everything else the request limit
        limit = self.job_limit if scope.get("method") == "POST" and scope.get("path") == f"{API}/jobs" \
            else self.default
        headers = dict(scope.get("headers") or [])
        # multipart framing comes on top of the files the limit is about; any other body is held to it
        slack = 64 * 1024 if headers.get(b"content-type", b"").lower().startswith(b"multipart/") else 0
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit + slack:
            return await self._refuse(send, limit, upload=bool(slack))
        seen = 0
        refused = False

        async def limited():
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit + slack:
                    refused = True
                    raise UploadTooLarge("请求体过大", "request body too large")
            return message

        try:
            return await self.app(scope, limited, send)
        except UploadTooLarge:
            if refused:
                return await self._refuse(send, limit, upload=bool(slack))
            raise

    async def _refuse(self, send, limit: int, *, upload: bool = True):
        from zoning.io.archive import mib

        zh, en = ("上传内容", "the upload") if upload else ("请求内容", "the request body")
        body = json.dumps(error_body(
            "too_large", f"{zh}超过 {mib(limit)} 上限", f"{en} exceeds the limit of {mib(limit)}"),
            ensure_ascii=False).encode("utf-8")
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def create_app(settings: Settings | None = None, *, layers=None, history: History | None = None) -> FastAPI:
    """The app. ``layers`` (a LayerSet) and ``history`` may be given, else they are loaded/opened
    from ``settings`` (catalog, db)."""
    settings = settings or Settings()
    svc = Service(settings, layers=layers, history=history)

    @asynccontextmanager
    async def lifespan(app):
        yield
        svc.close()

    app = FastAPI(title="zoning: 生态环境分区管控 screening service", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=f"{API}/openapi.json",
                  description="Screen project sites against Nanping's zoning layers and access-list rules. "
                              "Errors are JSON {error, message_zh, message_en} with a 4xx status.")
    app.state.service = svc
    install(app)
    app.add_middleware(BodyLimit, limit=settings.limits.max_upload_bytes,
                       job_limit=settings.limits.max_job_upload_bytes)

    @app.middleware("http")
    async def guard(request: Request, call_next):
        nonce = new_nonce()
        request.state.nonce = nonce
        asked_lang = request.query_params.get("lang")
        request.state.lang = lang_of(asked_lang)
        path = request.url.path
        auth = "ok" if not settings.token or path.startswith(OPEN_PATHS) else _auth(request, settings.token)
        if auth != "ok":
            if path.startswith(API) or path == "/openapi.json" or request.method != "GET":
                response = error_response(_auth_error(auth))
            else:
                response = _login_page(request, status=401)
        elif asked_lang is not None and asked_lang.strip().lower() not in LANGS:
            response = error_response(_lang_problem(asked_lang))
        else:
            if asked_lang is not None:
                request.state.lang = asked_lang.strip().lower()
            response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", csp(nonce, tile_hosts=svc.tile_hosts))
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    def page(request: Request, body: str, status: int = 200) -> HTMLResponse:
        return HTMLResponse(body, status_code=status)

    def _login_page(request: Request, status: int = 200, error: bool = False) -> HTMLResponse:
        lang = request.state.lang
        return HTMLResponse(render("login.html", L=labels(lang), lang=lang, nonce=request.state.nonce, error=error),
                            status_code=status)

    # -- pages -----------------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index(request: Request):
        lang = request.state.lang
        verdicts = {o: outcome_label(o, lang) for o in (*OUTCOMES, None)}
        verdicts.pop(None)
        verdicts["error"] = labels(lang)["not_screened"]  # a row that could not be screened
        return page(request, render("index.html", L=labels(lang), lang=lang, other="en" if lang == "zh" else "zh",
                                    verdicts=verdicts, nonce=request.state.nonce, catalog=svc.layers.catalog.name,
                                    rule_pack=f"{svc.rule_pack.name} v{svc.rule_pack.version}",
                                    synthetic=svc.layers.synthetic, token=bool(settings.token)))

    @app.get("/map", response_class=HTMLResponse, include_in_schema=False)
    async def layers_map(request: Request):
        html = await run_in_threadpool(svc.layers_map, request.state.lang)
        return HTMLResponse(with_nonce(html, request.state.nonce))

    @app.get("/screenings/{key}", response_class=HTMLResponse, include_in_schema=False)
    def screening_page(key: str, request: Request):
        lang = request.state.lang
        row = svc.history.screening(key)
        r = ScreenResult.from_dict(json.loads(row["result"]))
        doc = json.loads(row["result"])
        return page(request, render(
            "screening.html", L=labels(lang), R=lambda k: t(k, lang), lang=lang, other="en" if lang == "zh" else "zh",
            nonce=request.state.nonce, r=r, key=key, row=row,
            verdict_label=labels(lang)["not_screened"] if r.error else outcome_label(r.verdict, lang),
            error_text=_split_error(r.error)[1 if lang == "en" else 0] if r.error else "",
            compliance=compliance_rows(r, lang) if not r.error else [], carbon=carbon_rows(r.carbon, lang),
            clauses=doc.get("clauses") or [], role_label=lambda role: role_label(role, lang),
            status_label=lambda st: status_label(st, lang) if st in CLAUSE_STATUSES else st,
            outcome_label=lambda o: outcome_label(o, lang), opinion=doc.get("opinion")))

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_form(request: Request):
        return _login_page(request)

    @app.post("/login", include_in_schema=False)
    async def login(request: Request):
        form = await request.form()
        given = str(form.get("token") or "")
        if not settings.token or not hmac.compare_digest(given.encode(), settings.token.encode()):
            return _login_page(request, status=401, error=True)
        response = RedirectResponse(f"/?lang={request.state.lang}", status_code=303)
        response.set_cookie("zoning_token", given, httponly=True, samesite="strict", path="/")
        return response

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str):
        found = static_file(name)
        if found is None:
            raise NotFound(f"没有静态文件 {name}", f"no static file {name}")
        return Response(found[0], media_type=found[1], headers={"Cache-Control": "public, max-age=3600"})

    @app.get("/openapi.json", include_in_schema=False)
    def openapi_alias():
        return JSONResponse(app.openapi())

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    def docs(request: Request):
        spec = app.openapi()
        lang = request.state.lang
        return page(request, render("docs.html", L=labels(lang), lang=lang, nonce=request.state.nonce, spec=spec))

    # -- API: screening --------------------------------------------------------------------------
    @app.post(f"{API}/screen", summary="Screen one site or several",
              description="JSON body {\"site\": GeoJSON geometry | Feature | FeatureCollection | coordinate string, "
                          "\"attributes\": {…}, \"crs\": \"…\"}, or a multipart upload (field `file`, repeatable, plus "
                          "`crs`, `layer` and attribute fields). Returns the result JSON (result.schema.json) with "
                          "`id`, the key of the stored screening; a list for a FeatureCollection or an upload.",
              openapi_extra={"requestBody": {"content": {
                  "application/json": {"schema": {"type": "object", "required": ["site"], "properties": {
                      "site": {"description": "GeoJSON geometry, Feature or FeatureCollection, or a coordinate string"},
                      "attributes": {"type": "object"}, "crs": {"type": "string"}}}},
                  "multipart/form-data": {"schema": {"type": "object", "properties": {
                      "file": {"type": "array", "items": {"type": "string", "format": "binary"}},
                      "crs": {"type": "string"}}}}}}})
    async def api_screen(request: Request):
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "application/json" or kind.endswith("+json"):
            return await _screen_json(request)
        if kind == "multipart/form-data":
            return await _screen_upload(request)
        raise RequestProblem(f"不支持的内容类型 {kind or '（无）'}：请发送 application/json 或 multipart/form-data",
                             f"unsupported content type {kind or '(none)'}: send application/json or multipart/form-data")

    async def _screen_json(request: Request):
        raw = await request.body()
        doc = _loads(raw, "请求体", "the request body")
        if not isinstance(doc, dict):
            raise RequestProblem("请求体应为 JSON 对象 {\"site\": …, \"attributes\": {…}}",
                                 "the request body must be a JSON object {\"site\": …, \"attributes\": {…}}")
        unknown = sorted(set(doc) - JSON_KEYS)
        if unknown:
            raise RequestProblem(f"未知字段 {unknown}；可用：{sorted(JSON_KEYS)}",
                                 f"unknown members {unknown}; allowed: {sorted(JSON_KEYS)}")
        _lang_value(doc.get("lang"))
        if "site" not in doc:
            raise RequestProblem("缺少 site（GeoJSON 几何、Feature 或 FeatureCollection）",
                                 "missing 'site' (a GeoJSON geometry, Feature or FeatureCollection)")
        attributes = _check_attributes(doc.get("attributes"))
        crs = _crs_value(doc.get("crs"))
        sites, site_crs, many = _site_frame(doc["site"], crs)
        check_size(sites, settings.limits)
        if len(sites) == 1 and "crs_in" not in sites.columns:  # one site, however sent: its own error and code
            sites = await run_in_threadpool(read_sites, sites, crs=site_crs, on_error="raise")
            site_crs = None
        inputs = {"attributes": attributes, "crs": crs, "site": doc["site"] if len(raw) <= 1_000_000 else "(large)"}
        out = await run_in_threadpool(svc.screen_and_store, sites, attributes=attributes, crs=site_crs, source="json",
                                      inputs=inputs)
        return JSONResponse(out if many or len(out) > 1 else out[0])

    async def _form(request: Request):
        try:
            return await request.form(max_files=settings.limits.max_files, max_fields=100)
        except UploadTooLarge:
            raise
        except Exception as exc:  # the multipart parser's own refusals (malformed body, too many parts)
            if isinstance(exc, ZoningError):
                raise
            raise RequestProblem(f"multipart 请求无效：{exc}", f"invalid multipart request: {exc}") from None

    def _form_fields(form) -> tuple[dict, str | None, str | None]:
        attributes: dict = {}
        for key, value in form.multi_items():
            if key in FORM_KEYS or not isinstance(value, str):
                continue
            if value.strip():
                attributes[key] = value.strip()
        if form.get("attributes"):
            extra = _loads(str(form.get("attributes")).encode("utf-8"), "attributes 字段", "the 'attributes' field")
            attributes.update(_check_attributes(extra))
        _check_attributes(attributes)
        return attributes, _crs_value(form.get("crs")), (str(form.get("layer")) if form.get("layer") else None)

    async def _save(form, kind: str) -> Upload:
        files = [v for k, v in form.multi_items() if k == "file" and not isinstance(v, str)]
        if not files:
            raise RequestProblem("没有收到文件（multipart 字段 file）", "no file received (multipart field 'file')")
        folder = svc.new_folder(kind)
        limits = settings.limits
        if kind == "job":  # a job's own upload limit (and room to unpack it)
            limits = dataclasses.replace(limits, max_upload_bytes=limits.max_job_upload_bytes,
                                         max_unpacked_bytes=max(limits.max_unpacked_bytes,
                                                                2 * limits.max_job_upload_bytes))
        try:
            return await save_files(files, folder, limits)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise

    async def _screen_upload(request: Request):
        form = await _form(request)
        try:
            attributes, crs, layer = _form_fields(form)
            _lang_value(form.get("lang"))
            upload = await _save(form, "upload")
            try:
                sites = await run_in_threadpool(read_upload, upload, settings.limits, crs=crs, layer=layer,
                                                engine=settings.engine)
                inputs = {"attributes": attributes, "crs": crs, "layer": layer, "files": upload.names}
                out = await run_in_threadpool(svc.screen_and_store, sites, attributes=attributes, crs=crs,
                                              source="upload", inputs=inputs)
            finally:
                upload.cleanup()
        finally:
            await form.close()
        return JSONResponse(out)

    @app.get(f"{API}/screenings", summary="The latest screenings (history)")
    def api_recent(limit: int = 50):
        return svc.history.recent(_limit(limit, 500))

    @app.get(f"{API}/screenings/{{key}}", summary="A stored screening: the result JSON with its id")
    def api_screening(key: str):
        row = svc.history.screening(key)
        return Response(row["result"], media_type="application/json")

    @app.get(f"{API}/screenings/{{key}}/report.html", response_class=HTMLResponse, summary="The HTML report")
    async def api_report_html(key: str, request: Request):
        from zoning.render.figure import site_figure
        from zoning.render.html_report import render_html

        r = svc.result(key)
        html = await run_in_threadpool(lambda: render_html(r, lang=request.state.lang,
                                                           figure_png=site_figure(r, svc.layers, lang=request.state.lang)))
        return HTMLResponse(with_nonce(html, request.state.nonce))

    @app.get(f"{API}/screenings/{{key}}/report.docx", summary="The Word (DOCX) report")
    async def api_report_docx(key: str, request: Request):
        from zoning.render.docx_report import render_docx
        from zoning.render.figure import site_figure

        r = svc.result(key)
        data = await run_in_threadpool(lambda: render_docx(r, lang=request.state.lang,
                                                           figure_png=site_figure(r, svc.layers, lang=request.state.lang)))
        return _download(data, f"report_{r.site_id}.docx",
                         "application/vnd.openxmlformats-officedocument.wordprocessingml.document")

    @app.get(f"{API}/screenings/{{key}}/map.html", response_class=HTMLResponse, summary="The map with the site")
    async def api_map(key: str, request: Request):
        from zoning.render.maps import map_html

        r = svc.result(key)
        html = await run_in_threadpool(lambda: map_html(explore(results=[r], layers=svc.layers,
                                                                       lang=request.state.lang,
                                                                       basemaps=settings.basemaps)))
        return HTMLResponse(with_nonce(html, request.state.nonce))

    @app.get(f"{API}/screenings/{{key}}/sites.gpkg", summary="The site with its verdict (GeoPackage)")
    async def api_gpkg(key: str):
        from zoning.io.vector import write_vector
        from zoning.render.summary import summary_geoframe

        r = _with_geometry(svc.result(key))

        def build() -> bytes:
            folder = svc.new_folder("gpkg")
            try:
                path = folder / "sites.gpkg"
                write_vector(summary_geoframe([r]), path, driver="GPKG", layer="sites")
                return path.read_bytes()
            finally:
                shutil.rmtree(folder, ignore_errors=True)

        return _download(await run_in_threadpool(build), f"sites_{r.site_id}.gpkg", "application/geopackage+sqlite3")

    @app.get(f"{API}/screenings/{{key}}/sites_shp.zip", summary="The site with its verdict (zipped shapefile)")
    async def api_shp(key: str, encoding: str = "utf-8"):
        from zoning.export.county import dictionary_frame, write_shapefile
        from zoning.render.summary import summary_geoframe

        if encoding not in ("utf-8", "gbk"):
            raise RequestProblem("encoding 应为 utf-8 或 gbk", "encoding must be utf-8 or gbk")
        r = _with_geometry(svc.result(key))

        def build() -> bytes:
            folder = svc.new_folder("shp")
            try:
                frame = summary_geoframe([r])
                written = write_shapefile(frame, folder / "sites", encoding=encoding)
                buf = io.BytesIO()
                with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
                    for shp, _, _ in written:
                        for part in sorted(folder.glob(shp.stem + ".*")):
                            z.write(part, part.name)
                    cols = [c for c in frame.columns if c != "geometry"]
                    z.writestr("dictionary.csv", dictionary_frame({"results": cols}).to_csv(index=False)
                               .encode("utf-8-sig"))
                return buf.getvalue()
            finally:
                shutil.rmtree(folder, ignore_errors=True)

        return _download(await run_in_threadpool(build), f"sites_{r.site_id}_shp.zip", "application/zip")

    # -- API: jobs -------------------------------------------------------------------------------
    @app.post(f"{API}/jobs", status_code=200, summary="Start a batch job",
              description="Multipart upload: `file` (a site file of any size, or a zip / shapefile set), `crs`, "
                          "`layer` and attribute fields. Returns {\"id\", \"state\"}; poll GET /api/v1/jobs/{id}.",
              openapi_extra={"requestBody": {"content": {"multipart/form-data": {"schema": {
                  "type": "object", "required": ["file"], "properties": {
                      "file": {"type": "array", "items": {"type": "string", "format": "binary"}},
                      "crs": {"type": "string"}}}}}}})
    async def api_job(request: Request):
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "multipart/form-data":
            raise RequestProblem("批量任务需要 multipart/form-data 上传（字段 file）",
                                 "a batch job takes a multipart/form-data upload (field 'file')")
        form = await _form(request)
        try:
            attributes, crs, layer = _form_fields(form)
            lang = _lang_value(form.get("lang")) or request.state.lang
            upload = await _save(form, "job")
        finally:
            await form.close()
        job_id = svc.jobs.create(input_name=", ".join(upload.names),
                                 inputs={"files": upload.names, "attributes": attributes, "crs": crs, "layer": layer})
        svc.jobs.submit(job_id, upload, attributes=attributes, crs=crs, layer=layer, lang=lang)
        return JSONResponse({"id": job_id, "state": "queued", "links": _job_links(job_id)}, status_code=200)

    def _job_links(job_id: str) -> dict:
        return {"self": f"{API}/jobs/{job_id}", "summary.csv": f"{API}/jobs/{job_id}/summary.csv",
                "results.zip": f"{API}/jobs/{job_id}/results.zip"}

    @app.get(f"{API}/jobs/{{key}}", summary="State and progress of a batch job")
    def api_job_state(key: str):
        job = svc.jobs.state(key)  # a job of a server that is gone is failed here (``interrupted``)
        out = {"id": job["id"], "state": job["state"], "progress": job["progress"], "done": job["done"],
               "total": job["total"], "created_at": job["created_at"], "updated_at": job["updated_at"],
               "input": job["input_name"], "counts": job["counts"], "error": job["error"],
               "seconds": job["seconds"]}
        if job["state"] == "done":
            out["links"] = _job_links(key)
        return out

    @app.get(f"{API}/jobs/{{key}}/summary.csv", summary="Summary of a finished job (CSV, UTF-8 with BOM)")
    async def api_job_summary(key: str, request: Request):
        path = await run_in_threadpool(svc.jobs.output, key, "summary.csv", request.state.lang)
        return _download(path.read_bytes(), f"summary_{key[:8]}.csv", "text/csv; charset=utf-8")

    @app.get(f"{API}/jobs/{{key}}/results.zip", summary="Every result of a finished job (zip)")
    async def api_job_zip(key: str, request: Request):
        path = await run_in_threadpool(svc.jobs.output, key, "results.zip", request.state.lang)
        return _download(path.read_bytes(), f"results_{key[:8]}.zip", "application/zip")

    # -- API: reference and health ---------------------------------------------------------------
    @app.get(f"{API}/industries", summary="Search GB/T 4754-2017 industry codes and names")
    def api_industries(q: str = "", limit: int = 20):
        q = q.strip().upper()[:40]
        limit = _limit(limit, 100)
        items = svc.industries()
        if q:
            items = [i for i in items if i["code"].startswith(q) or (q.isdigit() and i["code"][1:].startswith(q))
                     or q in i["name"].upper()]
        return items[:limit]

    @app.get(f"{API}/health", summary="Layer set, rule-pack version and layer statuses")
    def api_health():
        info = svc.layers.info
        statuses = [{"role": i.role, "name": i.name, "vintage": i.vintage, "status": getattr(i, "integrity", i.status),
                     "synthetic": i.synthetic} for i in info.values()]
        return {"status": "ok" if all(s["status"] in ("ok", "partial") or s["role"] == "program" for s in statuses)
                else "degraded",
                "zoning_version": __version__, "layer_set": svc.layers.catalog.name,
                "catalog": Path(str(svc.layers.catalog.path)).name, "synthetic": svc.layers.synthetic,
                "rule_pack": {"name": svc.rule_pack.name, "version": svc.rule_pack.version},
                "layers": statuses, "history": {"dialect": svc.history.dialect, "database": svc.history.name,
                                                "schema_version": svc.history.version()},
                "uptime_s": round(time.time() - svc.started, 1)}

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon():
        return PlainTextResponse("", status_code=204)

    return app


def _auth(request: Request, token: str) -> str:
    """``ok``; ``invalid`` (a bearer token or the login cookie that is not the server's);
    ``scheme`` (an Authorization header of another scheme, e.g. Basic); ``missing``."""
    scheme, _, value = request.headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return "ok" if hmac.compare_digest(value.strip().encode(), token.encode()) else "invalid"
    cookie = request.cookies.get("zoning_token")
    if cookie:
        return "ok" if hmac.compare_digest(cookie.encode(), token.encode()) else "invalid"
    return "scheme" if scheme and scheme.lower() != "bearer" else "missing"


def _auth_error(state: str):
    from zoning.errors import AuthRequired

    if state == "invalid":  # a token that is wrong is not a token that is missing
        exc = AuthRequired("访问令牌无效", "invalid token: the bearer token given is not the server's")
        exc.code = "invalid_token"
        return exc
    if state == "scheme":  # Basic or another scheme: no token was given at all
        return AuthRequired("需要 Bearer 访问令牌（Authorization: Bearer …）；不支持其他认证方式",
                            "a bearer token is required (Authorization: Bearer …); other authentication schemes "
                            "are not supported")
    return AuthRequired("需要访问令牌（Authorization: Bearer …）", "a bearer token is required (Authorization: Bearer …)")


#: the languages of pages, reports and job outputs
LANGS = ("zh", "en")


def _lang_problem(value) -> RequestProblem:
    shown = str(value)[:20]
    return RequestProblem(f"lang 应为 zh 或 en，而不是 {shown!r}", f"lang must be zh or en, not {shown!r}")


def _lang_value(value) -> str | None:
    """A ``lang`` member or form field: None when absent, else zh or en (anything else is a 400)."""
    if value is None:
        return None
    if not isinstance(value, str) or value.strip().lower() not in LANGS:
        raise _lang_problem(value)
    return value.strip().lower()


def _limit(value: int, most: int) -> int:
    """A ``limit`` query parameter: 1 to ``most``, else a 400 saying so."""
    if not 1 <= value <= most:
        if abs(value) < 10**12:
            zh_got = en_got = str(value)
        else:  # never echo a number of any length
            zh_got, en_got = ("过大的数", "a number far too large") if value > 0 else ("过小的数", "a number far too small")
        raise RequestProblem(f"limit 应为 1 到 {most} 之间的整数（收到 {zh_got}）",
                             f"limit must be an integer from 1 to {most} (got {en_got})")
    return value


SETTINGS_ENV = "ZONING_SERVE_SETTINGS"


def app_from_env() -> FastAPI:
    """The app of one server process started by :func:`serve` with several ``api_workers``."""
    return create_app(Settings.from_json(os.environ[SETTINGS_ENV]))


@dataclasses.dataclass
class Prepared:
    """What :func:`preflight` checked and loaded in the main process before anything binds."""

    layers: object
    history: History
    #: the SQLite file this start created (removed again if the start fails after all)
    new_db: Path | None = None

    def discard_new_db(self) -> None:
        self.history.close()
        if self.new_db is not None:
            _remove_sqlite(self.new_db)


def _sqlite_file(url: str) -> Path | None:
    """The file of an ``sqlite:///…`` URL (None for PostgreSQL or an in-memory database)."""
    if not url.startswith("sqlite"):
        return None
    from sqlalchemy.engine import make_url

    try:
        database = make_url(url).database
    except Exception:  # noqa: BLE001 - History says what is wrong with the URL
        return None
    return Path(database) if database and database != ":memory:" else None


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            Path(str(path) + suffix).unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("could not remove %s: %s", path.name + suffix, exc)


def check_port(host: str, port: int) -> None:
    """Bind ``host:port`` the way uvicorn will (SO_REUSEADDR) and let it go again: a port in use,
    an address this machine does not have or a port it may not open is a one-line error now,
    before any banner or server process."""
    import errno
    import socket

    from zoning.errors import ServiceStartError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except socket.gaierror as exc:
        raise ServiceStartError(f"无法监听地址 {host}：无法解析（{exc.strerror}）；请检查 --host",
                                f"cannot listen on {host}: the name does not resolve ({exc.strerror}); check --host") \
            from None
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ServiceStartError(f"端口 {port} 已被占用（{host}:{port}）；请用 --port 换一个端口，或先停止占用它的程序",
                                    f"port {port} is already in use ({host}:{port}); choose another with --port or "
                                    f"stop the program using it") from None
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise ServiceStartError(f"没有权限监听端口 {port}（1024 以下的端口需要管理员权限）；请用 --port 换一个端口",
                                    f"no permission to listen on port {port} (ports below 1024 need administrator "
                                    f"rights); choose another with --port") from None
        raise ServiceStartError(f"无法监听 {host}:{port}：{exc.strerror or exc}；请检查 --host 和 --port",
                                f"cannot listen on {host}:{port}: {exc.strerror or exc}; check --host and --port") \
            from None


def check_work_folder(settings: Settings) -> None:
    """The folder for uploads and job outputs can be made and written."""
    from zoning.errors import ServiceStartError

    base = Path(settings.tmp_dir) if settings.tmp_dir else Path(tempfile.gettempdir())
    try:
        base.mkdir(parents=True, exist_ok=True)
        Path(tempfile.mkdtemp(prefix="zoning-check-", dir=base)).rmdir()
    except OSError as exc:
        raise ServiceStartError(f"无法在临时文件夹 {base} 中写入：{exc.strerror or exc}；请检查 --tmp-dir",
                                f"cannot write in the temporary folder {base}: {exc.strerror or exc}; check --tmp-dir") \
            from None


def preflight(settings: Settings, *, host: str = "127.0.0.1", port: int = 8000) -> Prepared:
    """Everything a server process needs, checked once in the main process before uvicorn binds
    or starts a worker: the port can be bound, the work folder written, the catalog and its layers
    load, the rule pack resolves, the history database opens and is migrated. Any failure is a
    one-line :class:`~zoning.errors.ZoningError` (``zoning serve`` exits 2), and a default SQLite
    file this created is removed again."""
    from zoning.screening.pipeline import resolve_rule_pack

    check_port(host, port)
    check_work_folder(settings)
    layers = load_layers(settings.catalog, engine=settings.engine)
    resolve_rule_pack(None, layers.catalog)
    url = settings.db_url()
    db_file = _sqlite_file(url)
    new_db = db_file if db_file is not None and not db_file.exists() else None
    try:
        history = History(url)
    except BaseException:
        if new_db is not None:
            _remove_sqlite(new_db)
        raise
    return Prepared(layers=layers, history=history, new_db=new_db)


def serve(settings: Settings, *, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info",
          prepared: Prepared | None = None) -> None:
    """Run the app with uvicorn (what ``zoning serve`` does): one process, or ``api_workers``
    processes sharing the port, the history database and one work folder. :func:`preflight`
    runs first (unless its result is given), so a bad catalog, a port in use or a database that
    cannot be opened stops the start with one line before any server process exists."""
    import uvicorn

    prepared = prepared or preflight(settings, host=host, port=port)
    kwargs = dict(host=host, port=port, log_level=log_level, proxy_headers=False, server_header=False)
    try:
        if settings.api_workers <= 1:
            uvicorn.run(create_app(settings, layers=prepared.layers, history=prepared.history), **kwargs)
            return
        prepared.history.close()  # migrated once; each server process opens its own connections
        prepared.layers = None  # each server process loads its own
        shared = settings.work_dir()
        settings = dataclasses.replace(settings, work=shared)
        os.environ[SETTINGS_ENV] = settings.to_json()
        try:
            uvicorn.run("zoning.service.app:app_from_env", factory=True, workers=settings.api_workers, **kwargs)
        finally:
            shutil.rmtree(shared, ignore_errors=True)
    except SystemExit as exc:  # uvicorn could not start after all (the port was taken since the check)
        if exc.code not in (0, None):
            prepared.discard_new_db()
        raise
