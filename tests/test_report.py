"""`archc report`: the page's data, and the page itself opened in a real headless Chromium (Debian's
`chromium`, driven by Playwright): no console errors, one table row per spec row, the knobs show what
`archc summary --pass width=...` prints, a screenshot that is not blank."""
from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from archc.api import ReportRequest, report
from archc.app.report_grid import default_grid
from archc.cli import app
from archc.compile import compile_spec
from archc.lang.library import bundled

runner = CliRunner()
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
GRID48 = ("width=1,0.75,0.5,0.25", "expand=none,4", "repeat=none,1", "input=3x512x512,3x384x384,3x256x256")
TRANSFORMERS = ("vit", "segformer", "mobilevit", "swin", "deit", "transformer", "topformer", "seaformer")
SPECS = ["fastscnn", "mobilenetv2"] + [n for n in bundled() if any(t in n for t in TRANSFORMERS)]


def _spec_rows(name: str) -> int:
    return sum(len(st.rows) for st in compile_spec(bundled()[name]).spec.stages)


def _embedded(html: str) -> dict:
    block = re.search(r'<script id="archc-data" type="application/json">(.*?)</script>', html, re.S).group(1)
    return json.loads(block)


def test_the_data_adds_up_and_the_page_is_self_contained(tmp_path):
    out = tmp_path / "f.html"
    result = report(ReportRequest("fastscnn", out, grid=GRID48))
    html, c = out.read_text(), compile_spec(bundled()["fastscnn"])
    data = _embedded(html)
    assert data == json.loads(json.dumps(result.data))
    assert len(data["rows"]) == _spec_rows("fastscnn") == 13
    assert sum(r["params"] for r in data["rows"]) == c.report.params == data["totals"]["params"]
    assert sum(r["macs"] for r in data["rows"]) == c.report.macs
    row = next(r for r in data["rows"] if r["id"] == "ltd.1")
    assert [l["label"] for l in row["layers"] if l["op"] == "conv"] == ["dw conv 3x3 /2  32\u219232",
                                                                       "pw conv 1x1  32\u219248"]
    assert len(data["grid"]["configs"]) == 48
    for cfg in data["grid"]["configs"]:  # the sweep's totals are the per-stage costs' sums
        assert cfg["status"] == "ok" and sum(s[0] for s in cfg["stages"].values()) == cfg["params"]
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing fetched from a network
    assert result.bytes < 2_000_000


def test_the_default_knobs_follow_the_spec():
    grid = default_grid(compile_spec(bundled()["fastscnn"]).spec)
    assert grid == {"width": ["1", "0.75", "0.5", "0.25"], "expand": ["none", "4", "2"],
                    "repeat": ["none", "2", "1"], "input": ["3x512x512", "3x384x384", "3x256x256"]}
    assert default_grid(compile_spec(bundled()["mobilenetv2"]).spec)["input"] == ["3x224x224", "3x160x160", "3x96x96"]


def test_generation_is_fast_and_small(tmp_path):
    """The budget: under 2 MB and 10 s for Fast-SCNN with a 48-configuration grid (no profiling)."""
    start = time.perf_counter()
    result = runner.invoke(app, ["report", "fastscnn", "-o", str(tmp_path / "f.html"), *sum((["--grid", g] for g in GRID48), [])])
    seconds = time.perf_counter() - start
    assert result.exit_code == 0, result.output
    assert (tmp_path / "f.html").stat().st_size < 2_000_000 and seconds < 10


def test_user_mistakes_are_one_line(tmp_path):
    r = runner.invoke(app, ["report", "fastscnn", "-o", str(tmp_path / "f.html"), "--weights", "w.pt"])
    assert r.exit_code == 2 and "--weights and --data go together" in r.stderr
    r = runner.invoke(app, ["report", "fastscnn", "-o", str(tmp_path / "f.html"), "--grid", "width=abc"])
    assert r.exit_code == 2 and r.stderr.startswith("archc: error:")
    assert list(tmp_path.iterdir()) == []


def _summary_params(spec: str, width: str) -> str:
    r = runner.invoke(app, ["summary", spec, "--pass", f"width={width}", "--no-layers"])
    return re.search(r"params ([\d,]+)", r.stdout).group(1)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium; .ci/run does)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.mark.parametrize("spec", SPECS)
def test_the_page_in_chromium(spec, browser, tmp_path):
    out = tmp_path / f"{spec}.html"
    report(ReportRequest(spec, out, diff="mobilenetv2" if spec == "fastscnn" else None))
    page, errors = browser.new_page(viewport={"width": 1280, "height": 900}), []
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: errors.append(f"fetched {r.url}") if not r.url.startswith(("file:", "data:")) else None)
    page.goto(out.as_uri())
    assert page.locator("#table tr.row").count() == _spec_rows(spec)
    page.select_option("#knob-width", "0.5")
    assert page.inner_text("#chosen-params") == _summary_params(spec, "0.5")
    page.click("#graph .node[data-row$='.0'] >> nth=1")  # a block in the graph marks its row
    assert page.locator("#table tr.row.hl").count() == 1
    row = page.locator("#table tr.row").first
    row.click()  # opens into its primitive layers
    assert page.locator("#table tr.prims tr").count() >= 2
    shot = page.screenshot(full_page=False)
    assert errors == []
    _not_blank(shot)
    page.close()


def _not_blank(png: bytes) -> None:
    from io import BytesIO

    from PIL import Image

    img = Image.open(BytesIO(png)).convert("L")
    lo, hi = img.getextrema()
    assert img.size[0] >= 1000 and hi - lo > 100
    assert sum(1 for n in img.resize((64, 64)).histogram() if n) > 20  # text and shapes, not one flat colour
