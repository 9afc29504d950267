"""One escaping function per sink. Data (names, ids, attribute text, rule texts, file names
from a catalog) reaches HTML, JavaScript, CSV/XLSX cells, a terminal or a path only through
these functions, so no input can become markup, script, a formula, a control sequence or a
path outside the output folder.
"""
from __future__ import annotations

import html as _html
import json
import math
import re
import unicodedata
from numbers import Number
from pathlib import Path

__all__ = ["html_text", "js_data", "strict_json", "dumps_strict", "csv_cell", "csv_frame", "xlsx_frame", "docx_text", "terminal_text",
           "terminal_json", "plot_text", "safe_filename", "inside"]


def html_text(value) -> str:
    """``value`` as HTML text (element content or a quoted attribute value): ``& < > " '`` become entities."""
    return _html.escape("" if value is None else str(value), quote=True)


def strict_json(obj):
    """``obj`` made safe for strict JSON: NaN/±Infinity -> null, numpy scalars and arrays and
    pandas' missing values -> Python values; anything else that JSON cannot hold -> its text."""
    if isinstance(obj, dict):
        return {str(k): strict_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict_json(v) for v in obj]
    if obj is None or isinstance(obj, (str, bool)):
        return obj
    if isinstance(obj, Number) and not isinstance(obj, complex):
        if hasattr(obj, "item"):  # numpy scalar
            obj = obj.item()
        if isinstance(obj, bool):
            return obj
        if isinstance(obj, int):
            return int(obj)
        return float(obj) if math.isfinite(float(obj)) else None
    if hasattr(obj, "tolist"):  # numpy array
        return strict_json(obj.tolist())
    if type(obj).__name__ in ("NAType", "NaTType"):  # pandas' missing values
        return None
    return str(obj)


def dumps_strict(obj, **kwargs) -> str:
    """JSON text a strict parser accepts (never NaN or Infinity); keyword options go to json.dumps."""
    kwargs.setdefault("ensure_ascii", False)
    return json.dumps(strict_json(obj), allow_nan=False, **kwargs)


def js_data(obj) -> str:
    """``obj`` as a JavaScript expression safe inside an inline ``<script>`` (and inside srcdoc).

    JSON with ``<``, ``>``, ``&`` and U+2028/U+2029 as ``\\u`` escapes: they occur only inside
    JSON strings, so the payload can neither close the script element nor open a comment or
    an element. Strict JSON only: a NaN or infinity in the data becomes null.
    """
    try:
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError:  # NaN or infinity somewhere in the data: null, as strict JSON has no such numbers
        text = dumps_strict(obj, separators=(",", ":"))
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


#: what makes a spreadsheet read a cell as a formula or a command (OWASP CSV injection)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
#: leading characters a spreadsheet may skip before it looks for a formula sign
_LEADING = " \u3000\u00a0\ufeff\u200b"


def _plain_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _dashes(text: str) -> bool:
    """A placeholder such as "-" or "--": no formula can be made of dashes alone."""
    core = text.strip()
    return bool(core) and set(core) <= {"-"}


def csv_cell(value):
    """A CSV/XLSX cell value that a spreadsheet shows as text, never runs as a formula.

    Text starting with ``= + - @``, tab, CR or LF (or their full-width forms; also after leading
    spaces) gets a leading apostrophe, as OWASP recommends; numbers, booleans and None pass
    unchanged (so numbers stay numeric), as does text that is a plain number such as ``-12.5``.
    A CR inside the text becomes LF, so that the CSV writer quotes the cell.
    """
    if value is None or isinstance(value, bool) or (isinstance(value, Number) and not isinstance(value, str)):
        return value
    # a bare CR is a line break to a spreadsheet but not to the CSV writer, which would leave the
    # cell unquoted: the text after it would start a row of its own (and could be a formula)
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    if text.lstrip(_LEADING).startswith(_FORMULA_START) and not _plain_number(text) and not _dashes(text):
        return "'" + text
    return text


def _is_text_column(series) -> bool:
    import pandas as pd

    dtype = series.dtype
    return (pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)
            or isinstance(dtype, pd.CategoricalDtype))


def csv_frame(frame):
    """A copy of a DataFrame with every text column (object, string or category; pandas 2 and 3)
    and every column name passed through :func:`csv_cell`. Number columns are left as they are."""
    out = frame.copy()
    for i, column in enumerate(list(out.columns)):
        series = out.iloc[:, i]
        if _is_text_column(series):
            out.isetitem(i, series.astype(object).map(lambda v: v if _missing(v) else csv_cell(v)))
    out.columns = [csv_cell(c) if isinstance(c, str) else c for c in out.columns]
    return out


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or type(value).__name__ in (
        "NAType", "NaTType")


#: characters XML 1.0 (and so DOCX and XLSX) cannot hold: C0 controls but tab/LF/CR, lone surrogates, U+FFFE/F
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _show(m: re.Match) -> str:
    code = ord(m.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def docx_text(value) -> str:
    """Text a Word document (XML 1.0) can hold: characters XML forbids (BEL, ESC, NUL, lone
    surrogates …) are shown as ``\\x07``-style escapes instead of making python-docx refuse the
    whole report. None becomes ""."""
    text = "" if value is None else str(value)
    return _XML_ILLEGAL.sub(_show, text)


def xlsx_frame(frame):
    """A copy of a DataFrame fit for an XLSX sheet: :func:`csv_frame` (no formulas: openpyxl
    would write text starting with ``=`` as a formula) and no character XML forbids (openpyxl
    refuses control characters)."""
    out = csv_frame(frame)
    for i in range(out.shape[1]):
        series = out.iloc[:, i]
        if _is_text_column(series):
            out.isetitem(i, series.map(lambda v: docx_text(v) if isinstance(v, str) else v))
    out.columns = [docx_text(c) if isinstance(c, str) else c for c in out.columns]
    return out


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")


def terminal_text(value, *, keep_newlines: bool = False) -> str:
    """Text for a terminal: control characters (ESC, BEL, CR, bidi overrides …) shown as
    ``\\x1b``-style escapes, so data can never move the cursor, clear the screen or set the
    window title. Newlines are shown as ``\\n`` unless ``keep_newlines``; tabs pass."""
    text = "" if value is None else str(value)
    if keep_newlines:
        return "\n".join(_CONTROL.sub(_show, line) for line in text.split("\n"))
    return _CONTROL.sub(_show, text.replace("\n", "\\n"))


def terminal_json(text: str) -> str:
    """JSON text for a terminal: the control characters :func:`terminal_text` escapes, as JSON
    ``\\u`` escapes (they can only occur inside JSON strings), so the output stays valid JSON."""
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def plot_text(value) -> str:
    """Text for a matplotlib figure (titles, legends, labels): ``$`` escaped so that data never
    switches on mathtext (``$\\frac{$`` would make the figure fail), control characters shown
    as escapes."""
    return terminal_text(value).replace("$", "\\$")


_UNSAFE_NAME = re.compile(r"[^\w\-\u4e00-\u9fff]+", re.UNICODE)
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}
#: longest file-name token in UTF-8 bytes (file systems allow 255; room is left for suffixes)
MAX_NAME_BYTES = 180


def safe_filename(text, *, default: str = "x", max_len: int = 80) -> str:
    """A file-name token from data: letters (incl. Chinese), digits, ``_`` and ``-`` only; no
    path separators, no leading dots, not a Windows device name, never empty; at most
    ``max_len`` characters and :data:`MAX_NAME_BYTES` bytes."""
    token = unicodedata.normalize("NFKC", "" if text is None else str(text))
    token = re.sub(r"_+", "_", _UNSAFE_NAME.sub("_", token)).strip("._-")[:max_len].strip("._-")
    while len(token.encode("utf-8")) > MAX_NAME_BYTES:
        token = token[:-1].rstrip("._-")
    if not token or token.lower() in _RESERVED:
        token = f"{default}_{token}" if token else default
    return token


def inside(folder: Path | str, stem, suffix: str = "") -> Path:
    """``folder / (stem + suffix)`` for a stem made of data, guaranteed to stay inside ``folder``."""
    folder = Path(folder)
    path = folder / (safe_filename(stem) + suffix)
    if path.resolve().parent != folder.resolve():  # cannot happen after safe_filename; kept as a guard
        raise ValueError(f"{stem!r} does not stay inside {folder}")
    return path
