"""The options that say where a model is timed, shared by profile, build --profile, sweep --profile
and latency fit: `--host [USER@]HOST[:PORT]` with `--identity`, `--ssh-config`, `--remote-python`."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from archc.errors import ArchcError

HostOpt = Annotated[Optional[str], typer.Option("--host", help="time on [USER@]HOST[:PORT] over SSH (needs "
                                                "Python and onnxruntime there)")]
IdentityOpt = Annotated[Optional[Path], typer.Option("--identity", help="SSH private key for --host")]
SshConfigOpt = Annotated[Optional[Path], typer.Option("--ssh-config", help="ssh config file (host aliases, keys)")]
RemotePythonOpt = Annotated[Optional[str], typer.Option("--remote-python",
                                                        help="the device's Python that has onnxruntime [python3]")]
PerLayerOpt = Annotated[bool, typer.Option("--per-layer", help="time per layer (ORT's profiler), mapped to the spec")]


def target(host: str | None, identity: Path | None = None, ssh_config: Path | None = None,
           remote_python: str | None = None, per_layer: bool = False):
    """The Target these options describe; SSH options without --host are a mistake worth one line."""
    from archc.measure.remote import Host
    from archc.measure.targets import Target

    if host is None:
        given = [f for f, v in (("--identity", identity), ("--ssh-config", ssh_config),
                                ("--remote-python", remote_python)) if v is not None]
        if given:
            raise ArchcError(f"{', '.join(given)} only apply with --host [USER@]HOST[:PORT]")
        return Target(None, per_layer)
    return Target(Host.parse(host, identity, ssh_config, remote_python), per_layer)

LatencyModelOpt = Annotated[Optional[Path], typer.Option("--latency-model", help="predict latency with a model "
                                                         "from `archc latency fit`, or a shipped device's name "
                                                         "(archc devices): nothing runs")]


def predict(model_file: Path, graph) -> dict:
    """What summary --json and sweep add: the predicted ms and where the model was fitted."""
    from archc.measure.latency_model import load

    model = load(model_file)
    return {"file": str(model_file), "device": model.meta.get("device"), "threads": model.meta.get("threads"),
            "predicted_ms": round(model.predict(graph), 4)}
