"""Faults of issue 17, each reproduced first: odd values and files, shared caches, user files beside
archc's, and file-system errors end in one `archc: error:` line (exit 2), never a lost user file."""
import json
import os
import subprocess
import sys
import threading
from dataclasses import asdict
from pathlib import Path

import pytest
from typer.testing import CliRunner

import archc.fs
from archc.cli import app
from archc.errors import ArchcError, SpecError
from archc.fs import MARKER, atomic_dir
from archc.lang.expr import evaluate
from archc.sweep.cache import Cache
from archc.sweep.sweep import Result, Sweep

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
ROW = "name: t\ninput: [3, 32, 32]\nstages:\n  - id: a\n    rows:\n      - {{op: conv_bn_act, c: {c}, eps: {eps}}}\n"


def cli(*args, timeout=60, **kw):
    return subprocess.run([sys.executable, "-m", "archc", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, **kw)


def _spec(tmp_path, c="8", eps="0.001"):
    path = tmp_path / "t.yaml"
    path.write_text(ROW.format(c=c, eps=eps))
    return path


# 1, 11: values that make a layer invalid, or numbers past the one bound, are refused by validate
@pytest.mark.parametrize("c, eps, message", [
    ("8", "'$1e400-1e400'", "not a finite number"), ("8", "-2.0", "'eps' must be > 0"),
    ("8", "0", "'eps' must be > 0"), ("8", ".inf", "'eps' must be a finite number"),
    ("8", ".nan", "'eps' must be a finite number"),
    ("\"$int('9'*4096)\"", "0.001", "4096-digit number, past the bound"),
    ("9" * 199, "0.001", "past the bound of 2,147,483,647"),
    ("'$abs(-9223372036854775808)'", "0.001", "past the bound"),
    ("'$10**15'", "0.001", "past the bound"),
])
def test_validate_refuses_values_that_break_a_layer(tmp_path, c, eps, message):
    result = runner.invoke(app, ["validate", str(_spec(tmp_path, c, eps))])
    assert result.exit_code == 2 and message in result.output, result.output


# 7: `+` is bounded like `*`, so a let chain of doublings stops at once
def test_plus_cannot_build_a_memory_bomb():
    scope = {"s": "x" * 4096, "l": [0] * 4096}
    for text in ("s + s", "l + l", "s * 2", "l * 2"):
        with pytest.raises(SpecError, match="longer than 4096"):
            evaluate(text, scope)
    assert evaluate("64 * 128", {}) == 8192  # numbers are not sequences


def test_a_let_chain_of_doublings_is_refused(tmp_path):
    lets = "".join(f"      s{i + 1}: $s{i} + s{i}\n" for i in range(23))
    text = ("name: t\ninput: [3, 8, 8]\nblocks:\n  b:\n    params: {c: channels}\n    let:\n      s0: \"$'ab'\"\n"
            + lets + "    body:\n      - {id: x, op: conv, c: $c}\nstages:\n  - id: a\n    rows:\n      - {op: b, c: 8}\n")
    (tmp_path / "b.yaml").write_text(text)
    result = runner.invoke(app, ["validate", str(tmp_path / "b.yaml")])
    assert result.exit_code == 2 and "longer than 4096" in result.output, result.output


# 6: a byte bound that holds for devices and FIFOs, for every file argument
@pytest.mark.parametrize("args", [["validate", "/dev/zero"], ["validate", "/dev/urandom"],
                                  ["summary", "specs/fastscnn.yaml", "--passes", "/dev/zero"],
                                  ["pareto", "/dev/zero"]])
def test_devices_are_read_with_a_bound(args):
    result = cli(*args, timeout=30)
    assert result.returncode == 2 and "byte limit" in result.stderr and result.stderr.count("\n") == 1, result.stderr


def test_a_fifo_spec_does_not_hang(tmp_path):
    os.mkfifo(tmp_path / "spec.yaml")
    result = cli("validate", tmp_path / "spec.yaml", timeout=30)
    assert result.returncode == 2 and "empty" in result.stderr


def test_quality_file_is_bounded(tmp_path):
    (tmp_path / "results.json").write_text(json.dumps([{"config": "a", "status": "ok", "macs": 1, "fps": 2}]))
    result = cli("pareto", tmp_path / "results.json", "--quality", "/dev/zero", "-o", tmp_path / "p", timeout=30)
    assert result.returncode == 2 and "byte limit" in result.stderr


# 13: pareto inputs of the wrong shape are user errors
@pytest.mark.parametrize("content, quality", [("3", None), ("[1, 2]", None), (None, None),
                                              ('[{"config": "a", "macs": 1, "fps": 2}]', "[3]"),
                                              ('[{"config": "a", "macs": 1, "fps": 2}]', '[{"config": 5}]')])
def test_pareto_refuses_odd_results(tmp_path, content, quality):
    results = tmp_path / "results.json"
    results.mkdir() if content is None else results.write_text(content)
    args = ["pareto", str(results), "-o", str(tmp_path / "p")]
    if quality:
        (tmp_path / "q.json").write_text(quality)
        args += ["--quality", str(tmp_path / "q.json")]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "archc: error:" in result.output, result.output


def test_pareto_axes_message_names_the_option(tmp_path):
    result = runner.invoke(app, ["pareto", "x.csv", "--axes", "macs"])
    assert result.exit_code == 2 and "--axes macs" in result.output


# 2: a user's files beside archc's survive --force and every rebuild
def _write(tmp, files):
    for name, text in files.items():
        (tmp / name).write_text(text)


def test_force_keeps_the_users_files(tmp_path):
    out = tmp_path / "u"
    out.mkdir()
    (out / "model.best.onnx").write_text("mine")
    with atomic_dir(out, force=True) as tmp:
        _write(tmp, {"model.onnx": "new", "model.int8.onnx": "q"})
    (out / "notes.txt").write_text("also mine")
    with atomic_dir(out) as tmp:  # a rebuild without quantize: archc's old int8 model goes, nothing else
        _write(tmp, {"model.onnx": "newer"})
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "model.best.onnx", "model.onnx", "notes.txt"]
    assert (out / "model.best.onnx").read_text() == "mine" and (out / "model.onnx").read_text() == "newer"


def test_force_never_writes_over_a_users_file(tmp_path):
    out = tmp_path / "u"
    out.mkdir()
    (out / "model.onnx").write_text("mine")
    with pytest.raises(ArchcError, match="model.onnx is there and archc did not write it"):
        with atomic_dir(out, force=True) as tmp:
            _write(tmp, {"model.onnx": "new"})
    assert (out / "model.onnx").read_text() == "mine" and sorted(os.listdir(tmp_path)) == ["u"]


def test_a_folder_made_while_building_is_rechecked_at_the_swap(tmp_path):
    out = tmp_path / "late"
    with pytest.raises(ArchcError, match="not written by archc"):
        with atomic_dir(out) as tmp:
            _write(tmp, {"model.onnx": "new"})
            out.mkdir()
            (out / "model.best.onnx").write_text("someone else's")
    assert os.listdir(out) == ["model.best.onnx"] and sorted(os.listdir(tmp_path)) == ["late"]


# 3: the swap is all or nothing: a failure on the third rename puts the old output back whole
def test_a_swap_that_fails_midway_keeps_the_old_output(tmp_path, monkeypatch):
    out = tmp_path / "out"
    with atomic_dir(out) as tmp:
        _write(tmp, {"spec.yaml": "old", "summary.json": "old", "model.onnx": "old"})
    calls, rename = [], os.rename

    def failing(a, b):
        calls.append(a)
        if len(calls) == 6:  # three old files moved aside, two new ones in: the third fails
            raise OSError(28, "No space left on device", str(b))
        rename(a, b)

    monkeypatch.setattr(archc.fs.os, "rename", failing)
    with pytest.raises(ArchcError, match="No space left"):
        with atomic_dir(out) as tmp:
            _write(tmp, {"spec.yaml": "new", "summary.json": "new", "model.onnx": "new"})
    monkeypatch.undo()
    assert {p.name: p.read_text() for p in out.iterdir() if p.name != MARKER} == {
        "spec.yaml": "old", "summary.json": "old", "model.onnx": "old"}
    assert sorted(os.listdir(tmp_path)) == ["out"]


# 9 (SIGKILL): the temporaries of a dead run are removed by the next one; a live run's are not
def test_stale_temporaries_of_dead_runs_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    stale = tmp_path / f".out.{pid}.abc123.tmp"
    stale.mkdir()
    (stale / archc.fs.OWNER).write_text("")
    (stale / "model.onnx").write_bytes(b"x" * 1000)
    foreign = tmp_path / f".out.{pid}.keep.tmp"  # not archc's: no owner file, not empty
    foreign.mkdir()
    (foreign / "data").write_text("mine")
    live = tmp_path / f".out.{os.getppid()}.live.tmp"
    live.mkdir()
    with atomic_dir(tmp_path / "out") as tmp:
        _write(tmp, {"model.onnx": "new"})
    assert sorted(os.listdir(tmp_path)) == sorted(["out", foreign.name, live.name])


# 4: two sweeps sharing a cache write the same entry at once
def test_concurrent_cache_writes_do_not_collide(tmp_path):
    cache, errors = Cache(tmp_path), []
    result = asdict(Result("width=0.5", {"width": "0.5"}, params=1, macs=2, activation_bytes=3))

    def put():
        try:
            for _ in range(40):
                cache.put("k", result)
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=put) for _ in range(6)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert errors == [] and os.listdir(tmp_path / "cache") == ["k.json"]
    assert cache.get("k", {"width": "0.5"}, "width=0.5") == result


# 14: cache entries are checked against their key and a schema on read
def test_swapped_and_damaged_cache_entries_are_recomputed(tmp_path):
    sweep = Sweep("specs/fastscnn.yaml", {"width": ["0.5", "0.25"]}, "3x256x256", jobs=1)
    first = sweep.run(tmp_path)
    entries = sorted((tmp_path / "cache").glob("*.json"))
    a, b = (p.read_text() for p in entries)
    entries[0].write_text(b)
    entries[1].write_text(a)  # swapped
    assert sweep.run(tmp_path) == first
    for p in entries:
        data = json.loads(p.read_text())
        data["result"]["params"] = "lots"
        p.write_text(json.dumps(data))
    assert sweep.run(tmp_path) == first
    assert all(isinstance(r.params, int) for r in first)


# 5, 8: sweep --out needs --force for a folder archc did not make and never overwrites a user's file
def test_sweep_out_keeps_a_users_results(tmp_path):
    out = tmp_path / "s"
    out.mkdir()
    (out / "results.csv").write_text("mine")
    args = ["sweep", "specs/fastscnn.yaml", "--grid", "width=0.5", "--out", str(out)]
    assert runner.invoke(app, args).exit_code == 2
    forced = runner.invoke(app, [*args, "--force"])
    assert forced.exit_code == 2 and "results.csv is there and archc did not write it" in forced.output
    assert (out / "results.csv").read_text() == "mine"
    (out / "results.csv").rename(out / "mine.csv")
    assert runner.invoke(app, [*args, "--force"]).exit_code == 0
    assert runner.invoke(app, args).exit_code == 0  # archc's folder now: no --force needed
    assert (out / "mine.csv").read_text() == "mine" and (out / "results.json").exists()


@pytest.mark.parametrize("kind, message", [("dir", "is a directory"), ("fifo", "empty")])
def test_an_import_of_a_folder_or_fifo_says_what_it_is(tmp_path, kind, message):
    os.mkdir(tmp_path / "b.yaml") if kind == "dir" else os.mkfifo(tmp_path / "b.yaml")
    (tmp_path / "a.yaml").write_text("name: a\ninput: [3, 64, 64]\nstages:\n  - id: b\n    import: b.yaml\n")
    result = cli("validate", tmp_path / "a.yaml", timeout=30)
    assert result.returncode == 2 and message in result.stderr and "no such" not in result.stderr, result.stderr


def test_an_input_suggestion_is_a_size_the_parser_takes():
    result = runner.invoke(app, ["summary", "specs/fastscnn.yaml", "--input", "3x99999x99999"])
    assert result.exit_code == 2 and "3x100000x100000" not in result.output
    assert "the nearest below is 3x99968x99968" in result.output, result.output
