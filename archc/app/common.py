"""What several commands do first: compile a Source, and pair a checkpoint with the compiled model once."""
from __future__ import annotations

from dataclasses import dataclass

from archc.app.values import QUIET, Hooks, Source, Weights
from archc.errors import ArchcError


def compiled(source: Source, hooks: Hooks = QUIET):
    """The Compiled spec (a bundled name or a file) after the source's passes; the notes go to hooks."""
    from archc.compile import compile_spec
    from archc.lang.library import resolve_spec

    c = compile_spec(resolve_spec(source.spec), source.pipeline(), source.input, dict(source.variables))
    if c.notes:
        hooks.notes(c.notes)
    return c


@dataclass(frozen=True)
class Paired:
    module: object  # the lowered torch module holding the checkpoint (carried through the passes)
    report: object  # torch.checkpoint.MappingReport

    @property
    def state(self) -> dict:
        return self.module.state_dict()


def paired(c, source: Source, weights: Weights, hooks: Hooks = QUIET) -> Paired | None:
    """The checkpoint lowered into the compiled model once, or None without one. When the pipeline has a
    structural pass that changes weights (all but `input`), the checkpoint fits the spec before its
    passes and is carried through them; the report then says how much of its L1 norm survived."""
    if weights.file is None:
        if weights.map is not None:
            raise ArchcError(f"--weights-map {weights.map}: it pairs a checkpoint's keys; give the checkpoint "
                             f"with --weights")
        return None
    from archc.torch.weights import lowered_carried, lowered_report

    original = _original(source)
    if original is None or (weights.map is None and fits(c, weights.file)):  # e.g. archc train's own weights
        module, report = lowered_report(c.graph, weights.file, weights.map)
    else:
        module, report, carried = lowered_carried(original.graph, weights.file, c.graph, weights.map)
        report.carried = {"kept_norm": round(carried.kept_norm, 6)}
    hooks.weights(report)
    if report.took and report.took != "its state_dict":
        hooks.notes([f"--weights {weights.file}: took {report.took}"])
    return Paired(module, report)


def fits(c, weights) -> bool:
    """Whether the checkpoint is already the model after the passes: every key and shape its own (archc train
    saves the passed model, so its weights.pt needs no carrying through width)."""
    from archc.torch.checkpoint import read_checkpoint
    from archc.torch.lower import lower

    own = {k: v for k, v in lower(c.graph).state_dict().items() if not k.endswith("num_batches_tracked")}
    ckpt = {k: v for k, v in read_checkpoint(weights).items() if not k.endswith("num_batches_tracked")}
    return set(own) == set(ckpt) and all(tuple(own[k].shape) == tuple(ckpt[k].shape) for k in own)


def from_run(source: Source, weights: Weights) -> tuple:
    """`archc build RUN` / `summary RUN` (a folder archc train wrote): its spec.yaml, the model as trained, and
    its weights.pt; passes would change that model, so they are refused. Anything else is returned as it is."""
    from pathlib import Path

    run = Path(source.spec)
    if not (run.is_dir() and (run / "spec.yaml").is_file() and (run / "checkpoint.pt").is_file()):
        return source, weights
    if source.passes or source.input or source.recipe:
        raise ArchcError(f"{run}: a training run's spec.yaml is the model as trained (passes applied); drop "
                         f"--pass, --input and --passes, or give the original spec with them")
    return (Source(run / "spec.yaml", (), None, source.variables, None),
            Weights(weights.file or run / "weights.pt", weights.map))


def _original(source: Source):
    """The spec compiled without passes, when a pass reshapes the weights; None otherwise."""
    from archc.compile import compile_spec, parse_passes
    from archc.lang.library import resolve_spec

    reshaping = [p for p in parse_passes(source.pipeline()) if p.structural and p.name != "input"]
    return compile_spec(resolve_spec(source.spec), (), None, dict(source.variables)) if reshaping else None


def size(text: str, option: str = "--size") -> tuple:
    """'128x96' -> (128, 96)."""
    h, sep, w = text.lower().partition("x")
    if not sep or not h.strip().isdigit() or not w.strip().isdigit():
        raise ArchcError(f"{option} {text}: expected HxW, e.g. 128x128")
    return int(h), int(w)
