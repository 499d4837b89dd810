"""`archc specs`: the bundled spec library, which any SPEC argument may name."""
from __future__ import annotations

import json

from archc.cli.app import JsonOpt, app, boundary


@app.command("specs")
@boundary
def specs_cmd(json_: JsonOpt = False):
    """List the bundled specs with params, MACs, input and source; `archc summary NAME` takes the name."""
    from archc import api
    from archc.cli import render_library

    entries = api.specs()
    if json_:
        print(json.dumps(entries))
        return
    render_library.specs(entries)
