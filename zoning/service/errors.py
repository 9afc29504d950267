"""Every failure of a request as JSON ``{"error": code, "message_zh", "message_en"}``, in one place.

A :class:`~zoning.errors.ZoningError` (bad input: data, attributes, uploads) becomes a 4xx
with its own bilingual message; FastAPI's own refusals (unknown route, wrong method, a path
parameter of the wrong type) get the same shape; anything else is a bug: 500 with a short
message and the traceback in the server log only, never in the response.
"""
from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException  # the base of FastAPI's: unknown routes raise this one

import zoning.errors as E

log = logging.getLogger("zoning.service")

#: exception class -> (HTTP status, error code); the most specific class listed wins
STATUS: list[tuple[type, int, str]] = [
    (E.AuthRequired, 401, "unauthorized"),
    (E.NotFound, 404, "not_found"),
    (E.JobFailed, 409, "job_failed"),
    (E.UploadTooLarge, 413, "too_large"),
    (E.UnsafeUpload, 400, "unsafe_upload"),
    (E.RequestProblem, 400, "bad_request"),
    (E.OutsideLayers, 422, "outside_layers"),
    (E.AttributeProblem, 422, "attribute_problem"),
    (E.CRSProblem, 422, "crs_problem"),
    (E.SiteError, 422, "site_error"),
    (E.EncodingProblem, 422, "encoding_problem"),
    (E.UnreadableInput, 422, "unreadable_input"),
    (E.InputFileNotFound, 422, "unreadable_input"),
    (E.HistoryError, 503, "history_unavailable"),
    (E.OutputProblem, 507, "insufficient_storage"),
    (E.OfflineViolation, 500, "offline_violation"),
    (E.ZoningError, 400, "bad_input"),
]

#: FastAPI/Starlette's own refusals
HTTP_CODES = {400: ("bad_request", "请求无效", "bad request"),
              401: ("unauthorized", "需要令牌", "a bearer token is required"),
              404: ("not_found", "没有这个地址", "no such address"),
              405: ("method_not_allowed", "不支持此请求方法", "method not allowed"),
              413: ("too_large", "请求体过大", "request body too large"),
              415: ("unsupported_media_type", "不支持的内容类型", "unsupported content type")}



#: the Chinese half of a request parameter's refusal, by pydantic error type
VALIDATION_ZH = {"int_parsing": " 应为整数", "int_from_float": " 应为整数", "float_parsing": " 应为数字",
                 "bool_parsing": " 应为 true 或 false", "missing": " 缺失", "string_type": " 应为文本",
                 "int_parsing_size": " 超出整数范围", "finite_number": " 应为有限数"}

def status_of(exc: BaseException) -> tuple[int, str]:
    for cls, status, code in STATUS:
        if isinstance(exc, cls):
            return status, getattr(exc, "code", None) or code
    return 500, "internal_error"


def _one_line(text: str, limit: int = 600) -> str:
    return re.sub(r"\s+", " ", str(text)).strip()[:limit]


_CRS_OPTION = re.compile(r"--crs(?:\s+([\w:.-]+))?")


def api_words(text: str, lang: str) -> str:
    """The library's CLI wording as the API's: ``--crs 4548`` is the request's ``crs`` field
    (the form field, or ``--crs`` on the command line)."""
    def sub(m: re.Match) -> str:
        if m.group(1):
            return f'crs "{m.group(1)}"'
        return "crs 字段" if lang == "zh" else "the crs field"
    return _CRS_OPTION.sub(sub, str(text))


#: a run of 20 or more digits (a 300-digit "coordinate" echoed back): shown in short form
_LONG_NUMBER = re.compile(r"\d[\d.]{19,}")


def _short_numbers(text: str) -> str:
    def short(m: re.Match) -> str:
        try:
            return f"{float(m.group(0)):.6g}"
        except ValueError:
            return m.group(0)[:12] + "…"
    return _LONG_NUMBER.sub(short, text)


def _message(text: str, lang: str) -> str:
    return _one_line(_short_numbers(api_words(text, lang)))


def error_body(code: str, zh: str, en: str) -> dict:
    return {"error": code, "message_zh": _message(zh, "zh"), "message_en": _message(en, "en")}


def error_response(exc: BaseException) -> JSONResponse:
    status, code = status_of(exc)
    if isinstance(exc, E.ZoningError) and status < 500:
        body = error_body(code, exc.zh, exc.en)
    elif isinstance(exc, E.ZoningError):
        log.error("%s: %s", type(exc).__name__, exc.en)
        body = error_body(code, exc.zh, exc.en)
    else:
        log.exception("internal error", exc_info=exc)
        body = error_body("internal_error", "服务内部错误（已记录日志，请报告）",
                          f"internal error ({type(exc).__name__}); it is logged, please report it")
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(E.ZoningError)
    async def _zoning(request: Request, exc: E.ZoningError):
        return error_response(exc)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException):
        code, zh, en = HTTP_CODES.get(exc.status_code, ("http_error", "请求失败", "request failed"))
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail not in ("Not Found", "Method Not Allowed") \
            else ""
        return JSONResponse(error_body(code, zh + (f"：{detail}" if detail else ""), en + (f": {detail}" if detail else "")),
                            status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        name = [".".join(str(p) for p in e.get("loc", ()) if p not in ("query", "path", "body")) or "?" for e in errors]
        zh = "；".join(f"{n}{VALIDATION_ZH.get(e.get('type', ''), '的值无效')}" for n, e in zip(name, errors))
        en = "; ".join(f"{n}: {e.get('msg', 'invalid value')}" for n, e in zip(name, errors))
        return JSONResponse(error_body("bad_request", f"请求参数无效：{zh}", f"invalid request parameters: {en}"),
                            status_code=400)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception):
        return error_response(exc)
