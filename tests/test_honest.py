"""Behaviour pinned against independent references (issue 29): each test computes what a user should see
by hand, or by a formula written out here, and compares archc's answer with it. They are the tests that the
mutants of benchmarks/mutants.py in these areas (metrics, schedules, loss, normalisation, carrying, weights
maps, Pareto fronts, the sweep cache, the latency model, budgets, the winner) must fail."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from typer.testing import CliRunner

from archc.cli import app
from archc.compile import compile_spec
from archc.train.datasets import IGNORE
from archc.train.metrics import Confusion

runner = CliRunner()


def _logits(pred: np.ndarray, classes: int) -> np.ndarray:
    """One-hot logits (N x K x H x W) whose argmax is `pred`."""
    out = np.zeros((pred.shape[0], classes, *pred.shape[1:]), np.float32)
    for k in range(classes):
        out[:, k][pred == k] = 1.0
    return out


# --- metrics -----------------------------------------------------------------------------------------

def test_miou_leaves_out_a_class_absent_from_labels_and_predictions_and_ignores_255():
    target = np.array([[[0, 0, 1, 1], [0, 1, IGNORE, IGNORE]]])
    pred = np.array([[[0, 1, 1, 1], [0, 1, 3, 0]]])  # class 2: nowhere; 3: only where the label is ignored
    conf = Confusion(4)
    conf.add(_logits(pred, 4), target)
    s = conf.scores()
    # by hand over the 6 kept pixels: class 0: tp 2, fp 0, fn 1 -> 2/3; class 1: tp 3, fp 1, fn 0 -> 3/4
    assert s["per_class_iou"] == [pytest.approx(2 / 3, abs=1e-6), pytest.approx(0.75, abs=1e-6), None, None]
    assert s["miou"] == pytest.approx((2 / 3 + 0.75) / 2, abs=1e-6)
    assert s["pixel_accuracy"] == pytest.approx(5 / 6, abs=1e-6) and s["pixels"] == 6


def test_a_class_predicted_but_never_labelled_counts_as_zero():
    target = np.array([[[0, 0, 0, 0]]])
    pred = np.array([[[0, 0, 0, 1]]])
    conf = Confusion(2)
    conf.add(_logits(pred, 2), target)
    assert conf.scores()["per_class_iou"] == [pytest.approx(0.75), 0.0]
    assert conf.scores()["miou"] == pytest.approx(0.375)


def test_one_class_is_a_sigmoid_and_its_miou_is_the_objects_iou():
    logits = np.array([[[[2.0, -1.0, 0.5, -3.0]]]], np.float32)  # > 0: object
    target = np.array([[[1, 1, 0, IGNORE]]])
    conf = Confusion(1)
    conf.add(logits, target)
    s = conf.scores()
    assert s["per_class_iou"] == [pytest.approx(1 / 3)] and s["miou"] == pytest.approx(1 / 3)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 5), st.lists(st.integers(0, 6), min_size=1, max_size=40), st.integers(0, 10**6))
def test_the_confusion_matrix_sums_to_the_pixels_not_ignored(classes, labels, seed):
    target = np.array([[[IGNORE if v >= max(classes, 2) else v for v in labels]]])
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(1, classes, 1, len(labels))).astype(np.float32)
    conf = Confusion(classes)
    conf.add(logits, target)
    assert conf.matrix.sum() == int((target != IGNORE).sum()) == conf.scores()["pixels"]


# --- loss and schedules --------------------------------------------------------------------------------

def test_the_loss_ignores_255_pixels_as_if_they_were_not_there():
    from archc.train.losses import loss_fn

    logits = torch.randn(1, 3, 2, 2, generator=torch.Generator().manual_seed(0))
    masks = torch.tensor([[[0, 2], [IGNORE, 1]]])
    kept = [(0, 0, 0), (0, 1, 2), (1, 1, 1)]  # (row, col, class)
    by_hand = -sum(torch.log_softmax(logits[0, :, r, c], 0)[k] for r, c, k in kept) / 3
    assert float(loss_fn(logits, masks)) == pytest.approx(float(by_hand), rel=1e-6)
    one = torch.tensor([[[[1.5, -0.5], [3.0, -2.0]]]])
    m1 = torch.tensor([[[1, 0], [IGNORE, 1]]])
    bce = [math.log1p(math.exp(-1.5)), math.log1p(math.exp(-0.5)), math.log1p(math.exp(2.0))]
    assert float(loss_fn(one, m1)) == pytest.approx(sum(bce) / 3, rel=1e-6)


@pytest.mark.parametrize("schedule, rule", [("poly", lambda t: (1 - t) ** 0.9),
                                            ("cosine", lambda t: 0.5 * (1 + math.cos(math.pi * t)))])
def test_the_learning_rate_at_chosen_steps_follows_the_schedules_formula(schedule, rule):
    from archc.train.loop import Config, make_optimizer

    module, steps, base = torch.nn.Linear(2, 2), 20, 0.05
    opt, sched = make_optimizer(module, Config(epochs=1, lr=base, schedule=schedule), steps)
    seen = {0: opt.param_groups[0]["lr"]}
    for step in range(1, steps + 1):
        opt.step()
        sched.step()
        seen[step] = opt.param_groups[0]["lr"]
    for step in (0, 1, 5, 10, 15, 19, 20):
        assert seen[step] == pytest.approx(base * rule(step / steps), rel=1e-9, abs=1e-12), (schedule, step)


# --- normalisation --------------------------------------------------------------------------------------

def _tiny_set(root, size=8):
    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        (root / split / "images").mkdir(parents=True)
        (root / split / "masks").mkdir(parents=True)
        for i in range(2):
            Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(
                root / split / "images" / f"{i}.png")
            Image.fromarray(rng.integers(0, 2, (size, size), dtype=np.uint8)).save(root / split / "masks" / f"{i}.png")


def test_training_and_evaluation_read_images_with_the_specs_own_normalisation(tmp_path):
    from archc.train.datasets import Segmentation

    _tiny_set(tmp_path)
    mean, std = (0.1, 0.7, 0.3), (0.5, 0.2, 0.9)
    data = Segmentation(tmp_path, "val", 2, (3, 8, 8), (mean, std))
    x, _ = data[0]
    raw = np.asarray(Image.open(tmp_path / "val" / "images" / "0.png"), np.float32) / 255.0
    want = (raw - np.array(mean)) / np.array(std)
    assert np.allclose(x.numpy(), want.transpose(2, 0, 1), atol=1e-5)


def test_a_checkpoint_is_scored_with_the_specs_normalisation_not_imagenets(tmp_path, monkeypatch):
    """Two specs that differ only in `normalize:` give different inputs, hence different scores."""
    from archc.train import evaluate

    _tiny_set(tmp_path / "d", 64)
    text = open("specs/fastscnn.yaml").read()
    line = next(l for l in text.splitlines() if l.startswith("input:"))
    text = text.replace(line, line + "\nnormalize: {mean: [0.2, 0.6, 0.1], std: [0.3, 0.1, 0.8]}", 1)
    compiled = compile_spec("odd.yaml", ["width=0.125", "drop=ppm"], "3x64x64", {"classes": 2}, text=text)
    assert compiled.spec.normalization() == ((0.2, 0.6, 0.1), (0.3, 0.1, 0.8))  # not ImageNet's
    seen = []
    real = evaluate.Segmentation

    def spy(*args, **kwargs):
        data = real(*args, **kwargs)
        seen.append(args[4] if len(args) > 4 else kwargs.get("norm"))
        return data

    monkeypatch.setattr(evaluate, "Segmentation", spy)
    from archc.torch.lower import lower

    torch.save(lower(compiled.graph).state_dict(), tmp_path / "w.pt")
    evaluate.evaluate_checkpoint(compiled, evaluate.with_weights(compiled, tmp_path / "w.pt")[0], tmp_path / "d")
    assert [tuple(map(tuple, s)) for s in seen] == [tuple(map(tuple, compiled.spec.normalization()))]


# --- carrying weights and weights maps --------------------------------------------------------------------

def test_carrying_width_keeps_the_channels_with_the_largest_norms():
    from archc.torch.carry import carry
    from archc.torch.weights import lower_seeded

    a = compile_spec("specs/mobilenetv2.yaml", [], "3x32x32").graph
    b = compile_spec("specs/mobilenetv2.yaml", ["width=0.5"], "3x32x32").graph
    first = next(n for n in a if n.op == "conv")
    keep_n = next(n for n in b if n.name == first.name).shape[0]
    state = {k: v.clone() for k, v in lower_seeded(a, 1).state_dict().items()}
    chosen = sorted(torch.randperm(first.shape[0], generator=torch.Generator().manual_seed(3))[:keep_n].tolist())
    state[f"{first.name}.weight"][chosen] *= 1000.0  # these channels dominate their groups' L1 norms
    carried = carry(a, state, b)
    assert sorted(int(i) for i in carried.kept[first.name]) == chosen
    assert torch.equal(carried.state[f"{first.name}.weight"], state[f"{first.name}.weight"][chosen])


@pytest.mark.parametrize("key, prefix, under", [("a.10.weight", "a.1", False), ("a.1.weight", "a.1", True),
                                                ("a.1", "a.1", True), ("a.1x.weight", "a.1", False),
                                                ("a.1.weight", "a.1.", True), ("b.a.1.weight", "a.1", False)])
def test_a_weights_map_prefix_ends_at_a_module_boundary(key, prefix, under):
    from archc.torch.weightmap import _under

    assert _under(key, prefix) is under


# --- Pareto fronts: the directions the CLI reads from each axis's name -----------------------------------

@pytest.mark.parametrize("x, x_low", [("params", True), ("macs", True), ("median_ms", True),
                                      ("predicted_ms", True), ("miou", False)])
@pytest.mark.parametrize("y, y_low", [("miou", False), ("median_ms", True), ("params", True)])
def test_the_plotted_front_reads_each_axiss_direction_from_that_axis(tmp_path, x, x_low, y, y_low):
    if x == y:
        pytest.skip("one column on both axes")
    from archc.sweep.pareto import plot

    # four points on a 2x2 grid of (low, high) values: exactly one is best on both axes as the names say
    rows = [{"config": f"c{i}", "status": "ok", x: str(vx), y: str(vy)}
            for i, (vx, vy) in enumerate([(1.0, 1.0), (1.0, 2.0), (2.0, 1.0), (2.0, 2.0)])]
    front = plot(rows, x, y, [(tmp_path / "p.png", "png")])
    best = (1.0 if x_low else 2.0, 1.0 if y_low else 2.0)
    assert [(p[0], p[1]) for p in front] == [best], (x, y)


# --- the sweep cache ---------------------------------------------------------------------------------------

BASE = dict(spec="specs/fastscnn.yaml", grid={"width": ["0.125"]}, input="3x128x128", variables={})


@pytest.mark.parametrize("change", [{"input": "3x96x96"}, {"variables": {"classes": 3}},
                                   {"grid": {"width": ["0.25"]}}, {"grid": {"width": ["0.125"], "drop": ["ppm"]}},
                                   {"spec": "specs/mobilenetv2.yaml", "grid": {"width": ["0.5"]}}])
def test_every_input_that_changes_a_result_misses_the_cache(tmp_path, change):
    from archc.sweep.sweep import Sweep

    first = Sweep(**BASE, jobs=1).run(tmp_path)[0]
    again = Sweep(**BASE, jobs=1).run(tmp_path)[0]
    assert again.row() == first.row()
    other = {**BASE, **change}
    got = Sweep(**other, jobs=1).run(tmp_path)[0]
    fresh = Sweep(**other, jobs=1).run(tmp_path / "fresh")[0]
    assert got.row() == fresh.row() != first.row()  # what a fresh folder computes, not the first run's row


def test_a_cache_key_changes_when_any_of_its_inputs_does():
    from archc.lang.spec import load
    from archc.sweep.sweep import _key

    spec = load("specs/fastscnn.yaml", {})
    base = ("code", spec, {"classes": 19}, "3x64x64", ["width=0.5"], None)
    keys = {_key(*base)}
    for i, other in enumerate(["code2", load("specs/mobilenetv2.yaml", {}), {"classes": 3}, "3x96x96",
                               ["width=0.25"], {"runs": 3}]):
        args = list(base)
        args[i] = other
        keys.add(_key(*args))
    assert len(keys) == 7


# --- the latency model's features ---------------------------------------------------------------------------

def test_latency_features_count_inputs_outputs_and_weights_by_hand():
    from archc.measure.latency_model import kind, layer_features

    g = compile_spec("specs/mobilenetv2.yaml", [], "3x32x32").graph
    feats = {name: (k, f) for name, k, f in layer_features(g)}
    checked = 0
    for node in g:
        if node.op != "conv" or node.name not in feats:
            continue
        cin = g.shape(node.inputs[0])[0]
        k = node.attrs.get("k", 1)
        kh, kw = (k, k) if isinstance(k, int) else k
        groups = node.attrs.get("groups", 1)
        c, h, w = node.shape
        weights = c * (cin // groups) * kh * kw + (c if node.attrs.get("bias") else 0)
        macs = weights * h * w
        moved = 4 * (math.prod(g.shape(node.inputs[0])) + c * h * w + weights)
        assert feats[node.name][1].tolist() == [1.0, macs, moved], node.name
        want = ("conv_depthwise" if groups == cin else "conv_grouped") if groups > 1 else \
            ("conv_1x1" if (kh, kw) == (1, 1) else "conv_kxk")
        assert feats[node.name][0] == want == kind(node, [g.shape(s) for s in node.inputs])
        checked += 1
    assert checked > 30


# --- budgets and the winner ----------------------------------------------------------------------------------

SPACE = """choices:
  width: [0.5, 0.25, 0.125]
  expand@gfe: [6, 2]
  drop: [ppm]
  input: [3x128x128]
"""


def _search(tmp_path, objectives, budgets):
    from archc.search.run import SearchRequest, run_search

    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "space.yaml").write_text(SPACE)
    req = SearchRequest("specs/fastscnn.yaml", str(tmp_path / "space.yaml"), objectives, budgets, sampler="grid",
                        storage="memory", build=False)
    return run_search(req, tmp_path / "s")


def test_a_budget_met_exactly_is_feasible_and_one_over_is_not(tmp_path):
    from archc.sweep.sweep import Sweep

    rows = Sweep("specs/fastscnn.yaml", {"width": ["0.25"], "expand@gfe": ["6"], "drop": ["ppm"],
                                         "input": ["3x128x128"]}, jobs=1).run()
    exact = rows[0].params
    outcome = _search(tmp_path, ["params:max"], [f"params<={exact}"])
    assert outcome.winner["params"] == exact
    assert all(r["status"] == ("ok" if r["params"] <= exact else "infeasible") for r in outcome.rows)
    under = _search(tmp_path / "u", ["params:max"], [f"params<={exact - 1}"])
    assert under.winner["params"] < exact


def test_the_winner_is_the_fronts_best_point_by_the_first_objective(tmp_path):
    outcome = _search(tmp_path, ["macs:max", "params"], ["params<=200000"])
    ok = [r for r in outcome.rows if r["status"] == "ok"]
    assert len(outcome.front) > 1
    assert outcome.winner["macs"] == max(r["macs"] for r in ok)
    assert [r["macs"] for r in outcome.front] == sorted((r["macs"] for r in outcome.front), reverse=True)
    low = _search(tmp_path / "low", ["params", "macs:max"], ["params<=200000"])
    assert low.winner["params"] == min(r["params"] for r in low.rows if r["status"] == "ok")
    summary = (tmp_path / "low" / "s" / "spec.yaml").read_text()
    assert low.winner["config"] in summary


@pytest.mark.parametrize("spec, size", [("fastscnn", "3x128x128"), ("mobilenetv2", "3x64x64"),
                                        ("segformer_b0", "3x64x64")])
def test_one_layers_cost_is_what_the_analysis_counts_for_it(spec, size):
    """explain's per-layer formula (layer_cost) and the analysis' inlined copy give each layer the same
    weights, MACs and activation bytes (the analysis' totals alone would not see one of them drift)."""
    from archc.ir.analysis import analyze, layer_cost

    graph = compile_spec(f"specs/{spec}.yaml", [], size).graph
    layers = [l for l in analyze(graph).layers if l.share is None]
    for layer in layers:
        node = graph[layer.name]
        cost = layer_cost(node.op, node.attrs, [graph.shape(s) for s in node.inputs], node.shape)
        assert cost == (layer.weights, layer.macs, layer.activation_bytes), layer.name
    assert sum(l.activation_bytes for l in layers) > 0
