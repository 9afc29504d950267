"""Plain-text tables that line up with Chinese (double-width) characters."""
from __future__ import annotations

import unicodedata
from typing import Iterable, Sequence

from zoning.escape import terminal_text


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _fit(text: str, width: int) -> str:
    if display_width(text) <= width:
        return text + " " * (width - display_width(text))
    out, used = "", 0
    for ch in text:
        w = display_width(ch)
        if used + w > width - 1:
            break
        out += ch
        used += w
    return out + "…" + " " * (width - used - 1)


def format_table(rows: Iterable[Sequence], headers: Sequence[str], *, max_width: int = 60) -> str:
    """Render rows as an aligned text table; cells wider than ``max_width`` are cut with …"""
    # data never drives the terminal; a tab would break the columns: shown as \t like the others
    cells = [[terminal_text(v).replace("\t", "\\t") for v in row] for row in rows]
    headers = [terminal_text(h) for h in headers]
    widths = [min(max_width, max([display_width(h)] + [display_width(r[i]) for r in cells]))
              for i, h in enumerate(headers)]
    line = "  ".join(_fit(h, w) for h, w in zip(headers, widths)).rstrip()
    sep = "  ".join("-" * w for w in widths)
    body = ["  ".join(_fit(c, w) for c, w in zip(r, widths)).rstrip() for r in cells]
    return "\n".join([line, sep, *body])
