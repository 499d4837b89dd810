"""`--weights CKPT.pt [--weights-map MAP.yaml]`, shared by build, summary and profile: pair the
checkpoint with the compiled module before anything is written, and show how it was paired.

    archc build specs/mobilenetv2.yaml --weights mobilenet_v2.pth --out out/mnv2
    archc summary specs/deeplabv3plus_mobilenetv2.yaml --weights w.pt --weights-map map.yaml --json
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from archc.errors import ArchcError

WeightsOpt = Annotated[Optional[Path], typer.Option(
    "--weights", help="a torch state_dict (.pt/.pth) to load, read with weights_only=True")]
WeightsMapOpt = Annotated[Optional[Path], typer.Option(
    "--weights-map", help="YAML pairing archc paths with checkpoint keys (map / ignore / keep)")]


def with_weights(compiled, weights, weights_map, quiet: bool = False, original=None):
    """(state_dict keyed by spec path, MappingReport), or (None, None) without --weights. With
    `original` (the spec compiled without its structural passes) the checkpoint fits the original and
    is carried through the passes; the report then says how much of the weights' L1 norm survived."""
    if weights is None:
        if weights_map is not None:
            raise ArchcError(f"--weights-map {weights_map}: it pairs a checkpoint's keys; give the checkpoint "
                             f"with --weights")
        return None, None
    from archc.cli import render_weights
    from archc.torch.weights import lowered_carried, lowered_report

    if original is None or (weights_map is None and fits(compiled, weights)):  # e.g. archc train's own weights
        module, report = lowered_report(compiled.graph, weights, weights_map)
    else:
        module, report, carried = lowered_carried(original.graph, weights, compiled.graph, weights_map)
        report.carried = {"kept_norm": round(carried.kept_norm, 6)}
    if not quiet:
        render_weights.mapping(report)
        if report.took and report.took != "its state_dict":
            import sys

            print(f"archc: note: --weights {weights}: took {report.took}", file=sys.stderr)
    return module.state_dict(), report


def from_run(spec, weights, passes, input_, recipe):
    """`archc build RUN` (a folder archc train wrote): its spec.yaml, the model as trained, and its weights.pt;
    passes would change that model, so they are refused. Anything else is returned as it is."""
    from pathlib import Path

    run = Path(spec)
    if not (run.is_dir() and (run / "spec.yaml").is_file() and (run / "checkpoint.pt").is_file()):
        return spec, weights
    if passes or input_ or recipe:
        raise ArchcError(f"{run}: a training run's spec.yaml is the model as trained (passes applied); drop "
                         f"--pass, --input and --passes, or give the original spec with them")
    return run / "spec.yaml", weights or run / "weights.pt"


def fits(compiled, weights) -> bool:
    """Whether the checkpoint is already the model after the passes: every key and shape its own (archc train
    saves the passed model, so its weights.pt needs no carrying through width)."""
    from archc.torch.checkpoint import read_checkpoint
    from archc.torch.lower import lower

    own = {k: v for k, v in lower(compiled.graph).state_dict().items() if not k.endswith("num_batches_tracked")}
    ckpt = {k: v for k, v in read_checkpoint(weights).items() if not k.endswith("num_batches_tracked")}
    return set(own) == set(ckpt) and all(tuple(own[k].shape) == tuple(ckpt[k].shape) for k in own)


def original_of(spec, passes, recipe, var):
    """The spec compiled without passes, when the pipeline has a structural pass that changes weights
    (all but `input`): the checkpoint is for that model. None otherwise."""
    from archc.cli.app import parse_vars
    from archc.compile import compile_spec, parse_passes
    from archc.passes import load_recipe

    pipeline = (load_recipe(recipe) if recipe is not None else []) + list(passes or ())
    reshaping = [p for p in parse_passes(pipeline) if p.structural and p.name != "input"]
    return compile_spec(spec, (), None, parse_vars(var)) if reshaping else None
