"""archc search: the space file, the staged trials, grid search against an exhaustive sweep, the CLI,
and resuming a search killed by SIGINT and SIGKILL from its SQLite study."""
import csv
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

from archc.cli import app
from archc.compile import compile_spec
from archc.errors import ArchcError
from archc.search.run import SearchRequest, run_search
from archc.search.space import load_space, parse_constraint
from archc.sweep.sweep import Sweep

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()
SMALL = """choices:
  width: [0.5, 0.25, 0.125]
  expand@gfe: [6, 2]
  drop: [none, ppm]
  input: [3x256x256, 3x128x128]
"""  # 24 configurations, 6 of them refused (PPM bins exceed the map at 128)


def _space(tmp_path, text=SMALL, name="space.yaml"):
    (tmp_path / name).write_text(text)
    return str(tmp_path / name)


def test_a_choice_is_a_pass_with_its_selector(tmp_path):
    space = load_space(_space(tmp_path, SMALL + "constraints: [params <= 1e5, median_ms<=33.4]\n"))
    assert space.size == 24
    picks = {"width": "0.5", "expand@gfe": "2", "drop": "none", "input": "3x256x256"}
    assert space.passes(picks) == ["width=0.5", "expand=2,where=gfe", "input=3x256x256"]
    assert [str(c) for c in space.constraints] == ["params<=100000", "median_ms<=33.4"]
    assert parse_constraint("miou >= 0.5").excess(0.75) == -0.25


@pytest.mark.parametrize("text, message", [
    ("choices:\n  width: 0.5\n", "space.yaml:2:10"),  # a value is a list of choices
    ("choices:\n  width@: [1]\n", "'width@' has the wrong form"),
    ("choice:\n  width: [1]\n", "'choice'"),
    ("choices:\n  widht: [1]\n", "choice 'widht': unknown pass 'widht'"),
    ("choices:\n  expand@gfe: [six]\n", "t='six' is not a number"),
    ("choices:\n  width: [1]\nconstraints: [latency <= 3]\n", "'latency' is not a measured column"),
])
def test_a_bad_space_is_one_line_naming_the_place(tmp_path, text, message):
    with pytest.raises(ArchcError) as err:
        load_space(_space(tmp_path, text))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_per_stage_width_scales_only_its_stage():
    base = compile_spec("specs/fastscnn.yaml").report
    everywhere = compile_spec("specs/fastscnn.yaml", ["width=0.5,where=ltd|gfe|ffm|classifier"]).report
    assert (everywhere.params, everywhere.macs) == (compile_spec("specs/fastscnn.yaml", ["width=0.5"]).report.params,
                                                    compile_spec("specs/fastscnn.yaml", ["width=0.5"]).report.macs)
    gfe = compile_spec("specs/fastscnn.yaml", ["width=0.5,where=gfe"])
    before = {l.name: l.params for l in base.layers}
    after = {l.name: l.params for l in gfe.report.layers}
    assert all(after[n] == before[n] for n in before if n.startswith("ltd."))
    # gfe.0.0's hidden width is ltd's (unscaled) output x t: only its projection shrinks
    same = ("gfe.0.0.expand", "gfe.0.0.depthwise")
    assert all(after[n] < before[n] for n in before if n.startswith("gfe.") and before[n] and not n.startswith(same))
    assert all(after[n] == before[n] for n in before if n.startswith(same))
    again = compile_spec("specs/fastscnn.yaml", text=__import__("archc.lang.emit", fromlist=["emit"]).emit(gfe.spec))
    assert again.report.params == gfe.report.params and again.report.macs == gfe.report.macs


def test_grid_search_finds_the_winner_of_the_exhaustive_sweep(tmp_path):
    space = _space(tmp_path)
    req = SearchRequest("specs/fastscnn.yaml", space, ["macs:max"], ["params<=30000"], sampler="grid",
                        storage="memory", build=False)
    outcome = run_search(req, tmp_path / "s")
    sweep = Sweep("specs/fastscnn.yaml", {k: list(v) for k, v in load_space(space).choices.items()}).run()
    by_hand = max((r for r in sweep if r.status == "ok" and r.params <= 30000), key=lambda r: r.macs)
    assert len(outcome.rows) == 24 and outcome.winner["config"] == by_hand.config
    assert {r["config"] for r in outcome.rows} == {r.config for r in sweep}
    statuses = {r["config"]: r["status"] for r in outcome.rows}
    assert all(statuses[r.config] == ("skipped" if r.status == "skipped" else
                                      "ok" if r.params <= 30000 else "infeasible") for r in sweep)
    header = next(csv.reader((tmp_path / "s" / "results.csv").open()))
    assert len(header) == len(set(header)) and header[:3] == ["trial", "config", "status"], header
    rows = list(csv.DictReader((tmp_path / "s" / "results.csv").open()))
    assert len(rows) == 24 and "params=" in next(r["reason"] for r in rows if r["status"] == "infeasible")
    assert by_hand.config in (tmp_path / "s" / "spec.yaml").read_text()  # build=False: no winner/ ONNX
    assert not (tmp_path / "s" / "winner").exists()


def test_two_objectives_give_the_feasible_pareto_front(tmp_path):
    req = SearchRequest("specs/fastscnn.yaml", _space(tmp_path), ["macs:max", "params"], ["params<=60000"],
                        sampler="grid", storage="memory", build=False)
    outcome = run_search(req, tmp_path / "s")
    ok = [r for r in outcome.rows if r["status"] == "ok"]

    def dominated(r):
        return any(o["macs"] >= r["macs"] and o["params"] <= r["params"] and
                   (o["macs"], o["params"]) != (r["macs"], r["params"]) for o in ok)

    assert {r["config"] for r in outcome.front} == {r["config"] for r in ok if not dominated(r)}
    assert len(outcome.front) > 1 and all(r["params"] <= 60000 for r in outcome.front)


def test_samplers_prune_their_repeats_so_every_told_trial_is_a_new_configuration(tmp_path):
    """A repeat told its old values would re-enter NSGA-II's populations and pile up among TPE's best
    trials; pruned, it does neither."""
    import optuna

    space = _space(tmp_path)
    for sampler in ("nsga2", "tpe"):
        req = SearchRequest("specs/fastscnn.yaml", space, ["macs:max"], ["params<=30000"], sampler=sampler,
                            trials=20, storage=f"sqlite:///{tmp_path / sampler}.db", build=False)
        outcome = run_search(req, tmp_path / sampler)
        assert len({r["config"] for r in outcome.rows}) == 20
        study = optuna.load_study(study_name="archc", storage=f"sqlite:///{tmp_path / sampler}.db")
        pruned = study.get_trials(states=(optuna.trial.TrialState.PRUNED,))
        assert len(outcome.rows) == 20 and pruned, f"24 points, 20 wanted: {sampler} must have met repeats"
        told = [t.params for t in study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))]
        assert len(told) == 20 and all(p in told for p in (t.params for t in pruned))


def test_an_unbuildable_configuration_ranks_below_every_one_over_budget(tmp_path):
    """TPE and NSGA-II order infeasible trials by their summed constraint excess; the excess is relative to
    the bound, and a configuration the PPM refuses gets INVALID, above any measured one's, so that search
    leans towards the configurations nearest the budget rather than towards refusals."""
    import optuna

    from archc.search.study import INVALID, _step_mutation

    req = SearchRequest("specs/fastscnn.yaml", _space(tmp_path), ["macs:max"], ["params<=30000"], sampler="grid",
                        storage=f"sqlite:///{tmp_path / 's.db'}", build=False)
    rows = {r["config"]: r for r in run_search(req, tmp_path / "s").rows}
    study = optuna.load_study(study_name="archc", storage=f"sqlite:///{tmp_path / 's.db'}")
    excess = {t.user_attrs["row"]["config"]: t.constraints for t in study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))}
    refused = [c for c, r in rows.items() if r["status"] == "skipped"]
    over = [c for c, r in rows.items() if r["status"] == "infeasible"]
    assert len(rows) == 24 and len(refused) == 6 and over
    assert all(excess[c] == {"excess": INVALID} for c in refused)
    for c in over:
        assert excess[c] == {"excess": pytest.approx(rows[c]["params"] / 30000 - 1)}
    assert all(excess[c] == {} for c, r in rows.items() if r["status"] == "ok")  # feasible: no constraint
    assert max(excess[c]["excess"] for c in over) < INVALID
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Optuna's ExperimentalWarning for the mutation is not the user's
        assert type(_step_mutation(optuna)).__name__ == "PolynomialMutation"


def test_a_winner_tied_with_other_front_candidates_is_said_to_be_arbitrary(tmp_path):
    """One objective: Optuna's front is every trial at the best value. Candidates that tie on it (here two
    input sizes of one width: the same params; after a 1-epoch training, the same mIoU) make the winner
    one of them by no merit: the search says so, and not when the best is alone."""
    space = _space(tmp_path, "choices:\n  width: [0.25, 0.125]\n  drop: [ppm]\n  input: [3x64x64, 3x96x96]\n")
    req = SearchRequest("specs/fastscnn.yaml", space, ["params:max"], sampler="grid", build=False)
    outcome = run_search(req, tmp_path / "s")
    assert len(outcome.front) == 2 and "2 candidates of the front tie at params" in outcome.warning
    alone = run_search(SearchRequest("specs/fastscnn.yaml", space, ["macs:max"], sampler="grid", build=False),
                       tmp_path / "m")
    assert len(alone.front) == 1 and alone.warning == ""


@pytest.mark.parametrize("directions", [["maximize"], ["minimize"], ["maximize", "minimize"]])
def test_the_search_tpe_proposes_what_optunas_own_tpe_proposes(directions):
    """archc's TPE keeps each finished trial's values in internal form, its side of the split and its
    infeasibility score instead of recomputing them on every ask, and tells Optuna one summed constraint
    instead of one per budget (none when feasible): none of it may change what it samples. Both samplers,
    same seed, the same constrained toy problem told through ask/tell as the search tells it (a repeat
    pruned, values that tie, trials infeasible by different amounts): the same 90 proposals."""
    import optuna

    from archc.search.study import EXCESS, _tpe

    optuna.logging.set_verbosity(optuna.logging.ERROR)

    def run(sampler, summed: bool) -> list:
        study, seen = optuna.create_study(sampler=sampler, directions=directions), set()
        for _ in range(30):  # asked 3 at a time, as the search asks its batches: running trials in the split
            asked = [study.ask() for _ in range(3)]
            for t, x in [(t, [t.suggest_int(f"x{i}", 0, 3) for i in range(5)]) for t in asked]:
                if tuple(x) in seen:
                    study.tell(t, state=optuna.trial.TrialState.PRUNED)
                    continue
                seen.add(tuple(x))
                excess = [max(0.0, sum(x) / 8 - 1), 1e6 if x[0] == x[1] == 3 else 0.0, -0.5]
                if summed and sum(max(v, 0.0) for v in excess) > 0:  # as the search tells it: none when feasible
                    t.set_constraint(EXCESS, sum(max(v, 0.0) for v in excess))
                else:
                    for i, v in enumerate(excess):
                        t.set_constraint(str(i), v)
                study.tell(t, [float(x[2] * 3 + x[3] - x[4]), float(x[0])][:len(directions)])
        assert 0 < sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials) < 60
        return [t.params for t in study.trials]

    ours = run(_tpe(optuna)(seed=3, multivariate=True, n_startup_trials=10), summed=True)
    assert ours == run(optuna.samplers.TPESampler(seed=3, multivariate=True, n_startup_trials=10), summed=False)


@pytest.mark.slow
def test_a_trial_stops_at_its_first_broken_constraint_and_the_winner_is_built(tmp_path):
    space = _space(tmp_path, "choices:\n  width: [0.25, 0.125]\n  repeat: [3, 1]\n  drop: [ppm]\n"
                             "  input: [3x64x64]\n")
    req = SearchRequest("specs/fastscnn.yaml", space, ["macs:max"], ["params<=20000", "median_ms<=1000"],
                        sampler="grid", profile={"runs": 3, "warmup": 1, "threads": 1, "runtime": "torch"})
    outcome = run_search(req, tmp_path / "s")
    for row in outcome.rows:  # over the params budget: never timed
        assert (row["median_ms"] is None) == (row["params"] > 20000), row
    assert [r["status"] for r in outcome.rows].count("ok") == 1
    assert outcome.winner["config"] == "width=0.125 repeat=1 drop=ppm input=3x64x64"
    assert "width=0.125 repeat=1 drop=ppm input=3x64x64" in (tmp_path / "s" / "spec.yaml").read_text()
    assert (tmp_path / "s" / "winner" / "model.onnx").stat().st_size > 0


def test_cli_refusals_are_one_line(tmp_path, monkeypatch):
    space = _space(tmp_path)
    base = ["search", "specs/fastscnn.yaml", "--space", space, "--out", str(tmp_path / "o")]
    for extra, message in ((["--objective", "iou"], "'iou' is not a measured column"),
                           (["--objective", "macs", "--budget", "macs<3e"], "expected COLUMN<=NUMBER"),
                           (["--objective", "macs", "--budget", "miou>=0.5"], "add --train EPOCHS --data DIR"),
                           (["--objective", "macs", "--sampler", "cmaes"], "--sampler cmaes"),
                           (["--objective", "macs", "--executor", "dask"], "--executor dask")):
        result = runner.invoke(app, base + extra)
        assert result.exit_code == 2 and message in result.stderr, (extra, result.output)
    monkeypatch.setitem(sys.modules, "optuna", None)
    result = runner.invoke(app, base + ["--objective", "macs"])
    assert result.exit_code == 2 and 'pip install "archc[search]"' in result.stderr


def _rows(out: Path) -> int:
    try:
        return len(list(csv.DictReader((out / "results.csv").open())))
    except (FileNotFoundError, csv.Error):
        return 0


def _interrupt(cmd, out: Path, sig, after: int) -> int:
    """Start the search, wait until `after` more trials are in results.csv, send `sig`."""
    start, proc = _rows(out), subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 600  # waits on rows, bounded only against a hang
    while _rows(out) < start + after and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(sig)
    proc.wait(60)
    return proc.returncode


@pytest.mark.slow  # three real processes (about 15 s each on a loaded 2-core machine)
def test_a_search_killed_by_sigint_and_sigkill_resumes_without_repeating_trials(tmp_path):
    import optuna

    out = tmp_path / "s"
    cmd = [sys.executable, "-m", "archc", "search", "specs/fastscnn.yaml", "--space", _space(tmp_path),
           "--objective", "macs:max", "--budget", "params<=30000", "--sampler", "grid", "--no-build",
           "--out", str(out)]
    assert _interrupt(cmd, out, signal.SIGINT, 4) == 130
    study = optuna.load_study(study_name="archc", storage=f"sqlite:///{out / 'study.db'}")
    first = {t.number: t.params for t in study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))}
    assert 4 <= len(first) < 24
    assert _interrupt(cmd, out, signal.SIGKILL, 4) == -signal.SIGKILL
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    study = optuna.load_study(study_name="archc", storage=f"sqlite:///{out / 'study.db'}")
    complete = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    points = [tuple(sorted(t.params.items())) for t in complete]
    assert len(set(points)) == 24  # every configuration of the space, once at least
    finished = {tuple(sorted(p.items())) for p in first.values()}
    assert all(points.count(p) == 1 for p in finished)  # what finished before SIGINT never ran again
    assert len(points) == 24  # an interrupted trial runs again once; the grid's revisits are pruned
    assert all(study.trials[n].params == p for n, p in first.items())  # finished trials kept, not redone
    assert _rows(out) == len(points) and "winner: trial" in done.stdout  # results.csv: every finished trial
