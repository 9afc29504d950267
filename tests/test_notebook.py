"""A notebook displays the folium map offline: executed with nbclient, then loaded in Chromium."""
import json
import os
import re
import sys
from pathlib import Path

import pytest

from zoning.render.maps import assert_offline
from test_map import _chromium, _remote_refs, launch, srcdoc_pages, watch

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "layers" / "catalog.yaml"


@pytest.fixture(scope="module")
def executed(catalog, tmp_path_factory):
    """The notebook, run in a kernel on this interpreter (the venv's python, registered in a temp kernelspec)."""
    tmp = tmp_path_factory.mktemp("nb")
    spec = tmp / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "zoning test (venv)", "language": "python"}))
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import sys\nimport zoning\n"
                                  "from zoning.io.catalog import load_catalog\n"
                                  "from zoning.io.layerset import load_layerset\n"
                                  "from zoning.render.maps import build_map\n"
                                  f"layers = load_layerset(load_catalog({str(CATALOG)!r}))\n"
                                  "print(sys.executable)"),
        nbformat.v4.new_code_cell("m = build_map(layers)\nm"),
    ]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(tmp / "jupyter"))
        mp.setenv("JUPYTER_RUNTIME_DIR", str(tmp / "runtime"))
        mp.setenv("IPYTHONDIR", str(tmp / "ipython"))
        mp.setenv("PATH", str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
        client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=120,
                                         resources={"metadata": {"path": str(tmp)}})
        # IPC sockets in the temp folder: the kernel opens no TCP port at all (nbclient still owns
        # the kernel manager, so it shuts the kernel down when done)
        client.km = client.create_kernel_manager()
        client.km.transport = "ipc"
        client.km.ip = str(tmp / "kernel-ipc")
        client.execute()
    return nb, tmp


def _html_output(nb) -> str:
    outputs = [o for o in nb.cells[-1].outputs if o.get("output_type") == "execute_result"]
    assert outputs, nb.cells[-1].outputs
    return outputs[0]["data"]["text/html"]


def test_kernel_is_the_venv_python(executed):
    nb, _ = executed
    printed = "".join(o.get("text", "") for o in nb.cells[0].outputs)
    assert Path(printed.strip()).resolve() == Path(sys.executable).resolve()


def test_notebook_output_is_offline(executed):
    nb, _ = executed
    out = _html_output(nb)
    docs = srcdoc_pages(out)
    assert len(docs) == 1  # the page sits in an iframe's srcdoc
    for page in (out, docs[0]):
        assert _remote_refs(page) == []
        assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
        assert_offline(page)


def test_notebook_output_loads_in_chromium_with_no_network(executed):
    if _chromium() is None:
        pytest.skip("no Chromium on this machine (make test installs Debian's chromium when run as root)")
    pw = pytest.importorskip("playwright.sync_api")
    nb, tmp = executed
    page_path = tmp / "notebook_output.html"
    page_path.write_text('<!DOCTYPE html><html><head><meta charset="utf-8"><title>notebook output</title></head>'
                         f'<body><div class="jp-OutputArea-output">{_html_output(nb)}</div></body></html>',
                         encoding="utf-8")
    with pw.sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        requests, errors = watch(page)
        page.goto(page_path.as_uri())
        frame = page.frame_locator("iframe")
        frame.locator(".leaflet-control-layers-overlays").wait_for(timeout=30_000)
        inner = next(f for f in page.frames if f != page.main_frame)
        inner.wait_for_function("window.zoningReady === true", timeout=30_000)
        overlays = frame.locator(".leaflet-control-layers-overlays label").all_inner_texts()
        legend = frame.locator("#zn-legend").is_visible()
        drawn = inner.evaluate("document.querySelectorAll('.leaflet-overlay-pane canvas').length")
        browser.close()
    assert requests == [] and errors == []
    for name in ("县级行政区", "生态保护红线", "自然保护地", "饮用水水源保护区", "工业园区", "高污染燃料禁燃区", "森林碳密度"):
        assert any(name in o for o in overlays), name
    assert legend and drawn >= 1
