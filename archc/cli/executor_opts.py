"""The `--executor local|ray [--address auto|HOST:PORT]` options that `sweep` and `search` share."""
from __future__ import annotations

from typing import Annotated, Optional

import typer

ExecutorOpt = Annotated[str, typer.Option("--executor", help="where tasks run: local (process pool) or ray")]
AddressOpt = Annotated[Optional[str], typer.Option("--address", help="a running Ray cluster: auto or HOST:PORT "
                                                   "(default: start a local one)")]
