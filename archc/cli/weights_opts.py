"""`--weights CKPT.pt [--weights-map MAP.yaml]`, shared by build, summary and profile (archc.app pairs the
checkpoint with the compiled module once, before anything is written; render_weights shows how).

    archc build specs/mobilenetv2.yaml --weights mobilenet_v2.pth --out out/mnv2
    archc summary specs/deeplabv3plus_mobilenetv2.yaml --weights w.pt --weights-map map.yaml --json
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

WeightsOpt = Annotated[Optional[Path], typer.Option(
    "--weights", help="a torch state_dict (.pt/.pth) to load, read with weights_only=True")]
WeightsMapOpt = Annotated[Optional[Path], typer.Option(
    "--weights-map", help="YAML pairing archc paths with checkpoint keys (map / ignore / keep)")]

