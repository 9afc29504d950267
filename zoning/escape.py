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

__all__ = ["html_text", "js_data", "csv_cell", "terminal_text", "safe_filename", "inside"]


def html_text(value) -> str:
    """``value`` as HTML text (element content or a quoted attribute value): ``& < > " '`` become entities."""
    return _html.escape("" if value is None else str(value), quote=True)


def js_data(obj) -> str:
    """``obj`` as a JavaScript expression safe inside an inline ``<script>`` (and inside srcdoc).

    JSON with ``<``, ``>``, ``&`` and U+2028/U+2029 as ``\\u`` escapes: they occur only inside
    JSON strings, so the payload can neither close the script element nor open a comment or
    an element. Non-finite numbers are refused by json (``allow_nan=False``): strict JSON only.
    """
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


#: what makes a spreadsheet read a cell as a formula or a command (OWASP CSV injection)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def csv_cell(value):
    """A CSV/XLSX cell value that a spreadsheet shows as text, never runs as a formula.

    Text starting with ``= + - @``, tab, CR or LF (or their full-width forms) gets a leading
    apostrophe, as OWASP recommends; numbers, booleans and None pass unchanged (so numbers stay
    numeric), as does text that is a plain number such as ``-12.5``.
    """
    if value is None or isinstance(value, bool) or (isinstance(value, Number) and not isinstance(value, str)):
        return value
    text = str(value)
    if text.startswith(_FORMULA_START):
        try:
            if math.isfinite(float(text)):
                return text  # "-12.5": a number written as text, not a formula
        except ValueError:
            pass
        return "'" + text
    return text


def csv_frame(frame):
    """A copy of a DataFrame with every object (text) column passed through :func:`csv_cell`."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = out[column].map(csv_cell)
    out.columns = [csv_cell(c) if isinstance(c, str) else c for c in out.columns]
    return out


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")


def terminal_text(value, *, keep_newlines: bool = False) -> str:
    """Text for a terminal: control characters (ESC, BEL, CR, bidi overrides …) shown as
    ``\\x1b``-style escapes, so data can never move the cursor, clear the screen or set the
    window title."""
    text = "" if value is None else str(value)

    def show(m: re.Match) -> str:
        code = ord(m.group(0))
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    if keep_newlines:
        return "\n".join(_CONTROL.sub(show, line) for line in text.split("\n"))
    return _CONTROL.sub(show, text.replace("\n", "\\n"))


_UNSAFE_NAME = re.compile(r"[^\w\-\u4e00-\u9fff]+", re.UNICODE)
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}


def safe_filename(text, *, default: str = "x", max_len: int = 80) -> str:
    """A file-name token from data: letters (incl. Chinese), digits, ``_`` and ``-`` only; no
    path separators, no leading dots, not a Windows device name, never empty."""
    token = unicodedata.normalize("NFKC", "" if text is None else str(text))
    token = re.sub(r"_+", "_", _UNSAFE_NAME.sub("_", token)).strip("._-")[:max_len].strip("._-")
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
