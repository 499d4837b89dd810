"""The key of a proxy-trained score (sweep --train, search --train): every input that changes a trained result
changes it (a miss: trained again), and an input that does not leaves it (a hit). One input at a time."""
from __future__ import annotations

import csv
import json
from dataclasses import fields, replace

import pytest
import torch
from faults2_util import invoke, tiny_setup

from archc.sweep.sweep import Sweep
from archc.sweep.sweep_train import model_keys
from archc.train.loop import Config
from archc.train.proxy import result_key

BASE = Config(2)
CHANGED = {  # each Config field -> another value a user could give (sweep/search/train options or Python)
    "epochs": 3, "batch": 4, "lr": 0.05, "optimizer": "sgd", "schedule": "poly", "weight_decay": 0.0,
    "augment": False, "seed": 1, "threads": 2, "gradual_groups": 4, "crop": (48, 48), "scale": (0.5, 2.0),
    "jitter": 0.2, "loss": "ohem", "class_weights": True, "format": "voc", "device": "cpu", "amp": False, "qat": True,
    "quantize": "quantize=int8,per_channel=false",
}
CPU = not torch.cuda.is_available()
SAME_ON_THIS_MACHINE = {"device": CPU, "amp": CPU}  # auto is the CPU here (cpu = auto), and AMP acts only on CUDA
DATA = {"files": 12, "bytes": 3456, "key": "0123456789abcdef"}
PART = "name: part\ninput: [3, 32, 32]\nstages:\n  - id: body\n    columns: [op, c, s]\n    rows:\n      - [conv, 8, 2]\n"
TOP = ("name: top\ninput: [3, 32, 32]\nvars:\n  classes: 3\nstages:\n  - id: backbone\n    import: part.yaml\n"
       "  - id: head\n    rows:\n      - {op: conv, c: $classes, k: 1, bias: true, width: fixed}\n"
       "      - {op: resize, scale: 2, align_corners: false}\n")


def test_every_config_field_has_a_case():
    assert set(CHANGED) == {f.name for f in fields(Config)}, "a new Config field: add it to CHANGED"


@pytest.mark.parametrize("name", sorted(CHANGED))
def test_a_changed_training_setting_misses(name):
    if name == "threads" and len(__import__("os").sched_getaffinity(0)) < 2:
        pytest.skip("one core: Config refuses 2 threads")
    base, other = result_key("m", DATA, BASE), result_key("m", DATA, replace(BASE, **{name: CHANGED[name]}))
    if SAME_ON_THIS_MACHINE.get(name):
        assert other == base  # device auto resolves to the CPU here; AMP off changes nothing on the CPU
    else:
        assert other != base
    assert result_key("m", DATA, Config(2)) == base  # an equal config: a hit


def test_the_dataset_content_and_the_model_key_count_and_nothing_else():
    base = result_key("m", DATA, BASE)
    assert result_key("m", dict(DATA, key="fedcba9876543210"), BASE) != base
    assert result_key("other", DATA, BASE) != base
    assert result_key("m", dict(DATA, files=99), BASE) == base  # the counts are a summary, the key is the content


def _model_key(tmp_path, part=PART, top=TOP, knobs=None, **sweep):
    (tmp_path / "part.yaml").write_text(part)
    (tmp_path / "top.yaml").write_text(top)
    sw = Sweep(str(tmp_path / "top.yaml"), {}, **sweep)
    return model_keys(sw, [knobs or {"width": "0.5"}])[0]


@pytest.mark.parametrize("change", ["imported file", "spec", "variables", "input", "passes"])
def test_a_changed_model_misses(tmp_path, change):
    base = _model_key(tmp_path)
    assert _model_key(tmp_path) == base  # unchanged: a hit
    other = {"imported file": lambda: _model_key(tmp_path, part=PART.replace("8, 2", "16, 2")),
             "spec": lambda: _model_key(tmp_path, top=TOP.replace("scale: 2,", "scale: 2.0,")),
             "variables": lambda: _model_key(tmp_path, variables={"classes": 4}),
             "input": lambda: _model_key(tmp_path, input="3x64x64"),
             "passes": lambda: _model_key(tmp_path, knobs={"width": "0.25"})}[change]()
    assert other != base


def test_search_trains_through_the_sweeps_key_and_reuses_its_scores(tmp_path):
    """A second search into the same OUT (a fresh in-memory study) trains nothing: its scores come from
    OUT/train_cache/, keyed as the sweep keys them."""
    spec, data = tiny_setup(tmp_path)
    (tmp_path / "space.yaml").write_text("choices:\n  width: [1, 0.5]\n")
    args = ["search", spec, "--space", tmp_path / "space.yaml", "--objective", "miou:max", "--sampler", "grid",
            "--train", 1, "--data", data, "--storage", "memory", "--no-build", "--jobs", 1, "--out", tmp_path / "s"]
    cache, runs = tmp_path / "s" / "train_cache", []
    for _ in range(2):
        code, errors, text = invoke(*args)
        assert code == 0 and not errors, text
        runs.append({r["config"]: r["miou"] for r in csv.DictReader((tmp_path / "s" / "results.csv").open())})
        entries = entries if runs[1:] else {p.name: p.stat().st_mtime_ns for p in cache.iterdir()}
    assert len(entries) == 2 and all(json.loads((cache / n).read_text())["epochs"] == 1 for n in entries)
    assert {p.name: p.stat().st_mtime_ns for p in cache.iterdir()} == entries  # nothing trained or written again
    assert runs[0] == runs[1] and all(0 <= float(v) <= 1 for v in runs[0].values())
    config = Config(1, threads=1)
    sweep = Sweep(str(spec), {})
    from archc.train.datasets import content_key

    assert {result_key(m, content_key(data), config) for m in model_keys(sweep, [{"width": "1"}, {"width": "0.5"}])} \
        == {n.removesuffix(".json") for n in entries}  # the sweep's key, computed independently of the search
