"""`archc report`: the page's data, and the page itself opened in a real headless Chromium (Debian's
`chromium`, driven by Playwright): no console errors, one table row per spec row, the knobs show what
`archc summary --pass width=...` prints, a screenshot that is not blank."""
from __future__ import annotations

import json
import re
import resource
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
from tinyspec import tiny_spec

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


def _cpu() -> float:
    """CPU seconds of this process and of the children it waited for (a sweep's workers)."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


def test_generation_is_fast_and_small(tmp_path):
    """The budget: under 2 MB and 10 s of CPU for Fast-SCNN with a 48-configuration grid (no profiling; CPU
    time of this process, which a loaded machine inflates far less than the clock)."""
    start = _cpu()
    result = runner.invoke(app, ["report", "fastscnn", "-o", str(tmp_path / "f.html"), *sum((["--grid", g] for g in GRID48), [])])
    seconds = _cpu() - start
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
    node = page.locator("#graph .node:not([data-row=''])").nth(1)  # a block in the graph marks its row
    node.click()
    assert page.locator("#table tr.row.hl").get_attribute("data-id") == node.get_attribute("data-row")
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


def test_latency_from_a_model_file(tmp_path):
    """--latency-model: every layer's predicted ms; rows, stages and each configuration add up to the model's
    prediction (less its per-run offset, which belongs to no layer)."""
    from archc.measure.latency_model import LatencyModel

    cost = {"layers": 0.01, "macs": 0.02, "bytes": 0.003}
    model = LatencyModel({k: cost for k in ("conv_kxk", "conv_1x1", "conv_depthwise", "bn", "act", "resize")},
                         scale=0.9, offset=0.25, meta={"device": "a test CPU", "threads": 1}, fixed_scale=0.5)
    model.save(tmp_path / "m.json")
    data = report(ReportRequest("fastscnn", tmp_path / "f.html", grid=("width=1,0.5",),
                                latency_model=tmp_path / "m.json")).data
    predicted = model.predict(compile_spec(bundled()["fastscnn"]).graph)
    assert data["latency"]["predicted_ms"] == pytest.approx(predicted, abs=1e-3)
    assert sum(r["ms"] for r in data["rows"]) + 0.25 == pytest.approx(predicted, abs=1e-3)
    half = data["grid"]["configs"][1]
    assert half["ms"] == pytest.approx(sum(s[3] for s in half["stages"].values()) + 0.25, abs=1e-3)
    assert half["ms"] < data["grid"]["configs"][0]["ms"]


def test_profile_and_model_are_one_or_the_other(tmp_path):
    r = runner.invoke(app, ["report", "fastscnn", "-o", str(tmp_path / "f.html"), "--profile",
                            "--latency-model", "m.json"])
    assert r.exit_code == 2 and "not both" in r.stderr


TINY = tiny_spec()


@pytest.mark.slow
def test_miou_and_mask_pictures(browser, tmp_path):
    """--weights with --data: the page shows the mIoU `archc eval` prints, in percent; --masks shows pictures."""
    from archc.train.synth import synthesize

    (tmp_path / "tiny.yaml").write_text(TINY)
    synthesize(tmp_path / "data", 3, 12, (32, 32), seed=1)
    trained = runner.invoke(app, ["train", str(tmp_path / "tiny.yaml"), "--data", str(tmp_path / "data"), "--epochs",
                                  "1", "--batch", "4", "--out", str(tmp_path / "run")])
    assert trained.exit_code == 0, trained.output
    scored = runner.invoke(app, ["eval", str(tmp_path / "tiny.yaml"), "--weights", str(tmp_path / "run/weights.pt"),
                                 "--data", str(tmp_path / "data"), "--json"])
    miou = json.loads(scored.stdout)["miou"]
    out = tmp_path / "t.html"
    r = runner.invoke(app, ["report", str(tmp_path / "tiny.yaml"), "-o", str(out), "--weights",
                            str(tmp_path / "run/weights.pt"), "--data", str(tmp_path / "data"),
                            "--masks", str(tmp_path / "data/val/masks")])
    assert r.exit_code == 0, r.output
    page = browser.new_page()
    page.goto(out.as_uri())
    assert page.inner_text("#miou") == f"{100 * miou:.1f} % mIoU"
    assert page.locator("#quality-body img").count() == min(8, len(list((tmp_path / "data/val/masks").iterdir())))
    page.close()


@pytest.mark.slow
def test_profiled_latency_per_layer(tmp_path):
    """--profile: the model is built and timed here per layer (ONNX Runtime's profiler), each row gets its ms."""
    (tmp_path / "tiny.yaml").write_text(TINY)
    data = report(ReportRequest(str(tmp_path / "tiny.yaml"), tmp_path / "t.html", grid=("width=1,0.5",),
                                profile=True)).data
    assert data["latency"]["source"] == "profile" and data["latency"]["median_ms"] > 0
    convs = [r for r in data["rows"] if r["op"] in ("conv_bn_act", "dsconv")]
    assert all(r["ms"] > 0 for r in convs)
    assert sum(r["ms"] for r in data["rows"]) == pytest.approx(data["totals"]["ms"], abs=1e-3)


def test_knobs_turn_the_network_after_its_passes(tmp_path):
    """--pass first, then the grid on top: the first configuration (width 1) is the network the page shows."""
    data = report(ReportRequest("fastscnn", tmp_path / "f.html", passes=("width=0.5",), grid=("width=1,0.5",))).data
    assert data["totals"]["params"] == 298553 == data["grid"]["configs"][0]["params"]
    assert data["grid"]["configs"][1]["params"] < 298553 and data["passes"] == ["width=0.5"]


def test_a_knob_shows_per_row_costs(browser, tmp_path):
    """repeat=1 keeps one block of each repeated row: the page's per-row table shows the rows' new MACs."""
    out = tmp_path / "f.html"
    data = report(ReportRequest("fastscnn", out, grid=("repeat=none,1",))).data
    page = browser.new_page()
    page.goto(out.as_uri())
    page.select_option("#knob-repeat", "1")
    want = compile_spec(bundled()["fastscnn"], ["repeat=1"]).report
    assert page.inner_text("#chosen-params") == f"{want.params:,}"
    gfe0 = data["grid"]["configs"][1]["rows"]["gfe.0"]
    cells = page.locator("#chosen-rows tr[data-row='gfe.0'] td").all_inner_texts()
    assert cells[1] == f"{gfe0[0]:,}" and cells[-1] != "\u00d71.00"
    page.close()


def test_a_users_file_is_never_overwritten_but_archcs_own_page_is(tmp_path):
    mine = tmp_path / "notes.html"
    mine.write_text("<html>my notes</html>")
    r = runner.invoke(app, ["report", "fastscnn", "--grid", "width=1,0.5", "-o", str(mine)])
    assert r.exit_code == 2 and "a file archc did not write" in r.output and mine.read_text() == "<html>my notes</html>"
    page = tmp_path / "page.html"
    for _ in range(2):  # the second run replaces archc's own page
        assert runner.invoke(app, ["report", "fastscnn", "--grid", "width=1,0.5", "-o", str(page)]).exit_code == 0
    assert 'id="archc-data"' in page.read_text()
