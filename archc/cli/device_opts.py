"""The options that say where a model is timed, shared by profile, build --profile, sweep --profile
and latency fit: `--host [USER@]HOST[:PORT]` with `--identity`, `--ssh-config`, `--remote-python`."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

import archc.app as calls

HostOpt = Annotated[Optional[str], typer.Option("--host", help="time on [USER@]HOST[:PORT] over SSH (needs "
                                                "Python and onnxruntime there)")]
IdentityOpt = Annotated[Optional[Path], typer.Option("--identity", help="SSH private key for --host")]
SshConfigOpt = Annotated[Optional[Path], typer.Option("--ssh-config", help="ssh config file (host aliases, keys)")]
RemotePythonOpt = Annotated[Optional[str], typer.Option("--remote-python",
                                                        help="the device's Python that has onnxruntime [python3]")]
PerLayerOpt = Annotated[bool, typer.Option("--per-layer", help="time per layer (ORT's profiler), mapped to the spec")]


def device(host: str | None, identity: Path | None = None, ssh_config: Path | None = None,
           remote_python: str | None = None, per_layer: bool = False):
    """The Device these options describe (archc.app.Device; its target() checks them)."""
    return calls.Device(host, identity, ssh_config, remote_python, per_layer)


LatencyModelOpt = Annotated[Optional[Path], typer.Option("--latency-model", help="predict latency with a model "
                                                         "from `archc latency fit`, or a shipped device's name "
                                                         "(archc devices): nothing runs")]
