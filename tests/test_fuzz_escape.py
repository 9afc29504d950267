"""Fuzz: each sink's one escaping function (zoning/escape.py) holds for any text."""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz_support import FORMULA_START, HOSTILE, examples, record

anything = st.one_of(st.text(), st.sampled_from(HOSTILE), st.text(alphabet=st.characters(max_codepoint=0x3000)),
                     st.builds(lambda a, b: a + b, st.sampled_from(HOSTILE), st.text(max_size=20)))
SETTINGS = dict(max_examples=examples(300, 3000), deadline=None, suppress_health_check=list(HealthCheck),
                database=None)


@settings(**SETTINGS)
@given(text=anything)
def test_every_sink_holds_for_any_text(text):
    from docx import Document

    from zoning.escape import (csv_cell, docx_text, html_text, inside, js_data, plot_text, safe_filename,
                               terminal_json, terminal_text)

    # HTML: no markup character survives
    assert not re.search(r"[<>\"']", html_text(text))
    # JavaScript: the payload cannot close a script or open a comment, and reads back as the same text
    payload = js_data({"t": text})
    assert "<" not in payload and ">" not in payload and json.loads(payload)["t"] == text
    # CSV/XLSX: never a formula unless a plain number; the text is kept (after the apostrophe)
    cell = csv_cell(text)
    if cell.lstrip(" \u3000\u00a0\ufeff").startswith(FORMULA_START) and set(cell.strip()) != {"-"}:
        assert math.isfinite(float(cell))
    assert "\r" not in cell
    # DOCX: python-docx accepts it
    Document().add_paragraph(docx_text(text))
    # terminal: no control character, JSON stays JSON with the same value
    shown = terminal_text(text)
    assert not re.search(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", shown)
    assert json.loads(terminal_json(json.dumps(text, ensure_ascii=False))) == text
    assert "$" not in plot_text(text).replace("\\$", "")
    # file names: inside the folder, no separators or leading dot, bounded
    name = safe_filename(text)
    assert name and "/" not in name and "\\" not in name and not name.startswith(".")
    assert len(name.encode("utf-8")) <= 255 and name.lower() not in {"con", "nul", "prn", "aux"}
    folder = Path("/tmp/zoning-escape-check")
    assert inside(folder, text, ".csv").parent == folder
    record(escape_cases=1)


@settings(**SETTINGS)
@given(value=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(), st.booleans(), st.none()))
def test_numbers_stay_numbers(value):
    from zoning.escape import csv_cell, js_data

    assert csv_cell(value) is value
    assert json.loads(js_data([value])) == [value if not (isinstance(value, float) and not math.isfinite(value))
                                            else None]
