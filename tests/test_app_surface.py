"""The application layer's shape: every CLI command is one documented call in archc.api, the CLI imports
few modules outside itself, and a cold `archc --version` / `--help` loads no compiler or numeric stack."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import archc.api as api
from archc.cli import app

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / "archc" / "cli"
MAX_CLI_IMPORTS = 5  # internal modules outside archc.cli (the bound)
HEAVY = ("networkx", "jsonschema", "numpy", "torch")


def _commands(typer_app, prefix: str = "") -> list[str]:
    names = [prefix + (c.name or c.callback.__name__.replace("_", "-")) for c in typer_app.registered_commands]
    for group in typer_app.registered_groups:
        names += _commands(group.typer_instance, f"{prefix}{group.name} ")
    return names


def test_every_cli_command_is_one_documented_api_call():
    commands = _commands(app)
    assert len(commands) >= 19 and "data synth" in commands and "latency fit" in commands
    missing = sorted(set(commands) - set(api.COMMANDS))
    assert not missing, f"CLI commands without an archc.api call (add it to archc.api.COMMANDS): {missing}"
    stale = sorted(set(api.COMMANDS) - set(commands))
    assert not stale, f"archc.api.COMMANDS names commands the CLI does not have: {stale}"
    for name, call in api.COMMANDS.items():
        assert callable(call) and (call.__doc__ or "").strip(), f"{name}: {call!r} has no docstring"
        assert getattr(api, call.__name__) is call, f"{name}: archc.api.{call.__name__} is not the call"


def _internal_imports(path: Path) -> set[str]:
    """Modules under archc (not archc.cli) a file imports, at any depth of the file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found |= {f"{node.module}.{a.name}" if node.module == "archc" else node.module for a in node.names}
    return {m for m in found if (m == "archc" or m.startswith("archc.")) and not m.startswith("archc.cli")}


def test_the_cli_imports_at_most_five_internal_modules():
    used = set().union(*(_internal_imports(p) for p in CLI.glob("*.py")))
    assert used and len(used) <= MAX_CLI_IMPORTS, sorted(used)


def test_the_import_counter_counts(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("import archc.app as calls\nfrom archc import fs\nfrom archc.cli.app import app\n"
                 "def f():\n    from archc.errors import ArchcError\n    import json\n")
    assert _internal_imports(f) == {"archc.app", "archc.fs", "archc.errors"}


def _loaded(*args: str) -> set[str]:
    """The modules a fresh `python -m archc ARGS` imports (from -X importtime, which lists each once)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "archc", *args], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")]
    return {name.split(".")[0] for name in lines} | set(lines)


def test_version_and_help_load_no_compiler_and_no_numeric_stack():
    for args in (("--version",), ("--help",)):
        loaded = _loaded(*args)
        assert "archc" in loaded and "encodings" in loaded  # the list is real
        assert not loaded & set(HEAVY), (args, sorted(loaded & set(HEAVY)))
        assert "archc.compile" not in loaded, args


def test_summary_loads_no_torch_and_no_networkx():
    loaded = _loaded("summary", "fastscnn", "--json")
    assert "archc.compile" in loaded and not loaded & {"torch", "networkx", "onnx", "onnxruntime"}


def test_summary_of_a_valid_spec_loads_no_jsonschema_pydantic_or_typer_help():
    """jsonschema only explains a failing spec; pydantic only coerces options archc.cli.fastparse does not;
    typer's rich help module only prints help."""
    loaded = _loaded("summary", "fastscnn")
    assert "archc.compile" in loaded and not loaded & {"jsonschema", "pydantic", "typer.rich_utils"}


def test_the_version_printed_before_the_cli_loads_is_the_package_version():
    from archc.version import VERSION

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["version"] == VERSION
    assert project["scripts"]["archc"] == "archc.__main__:main"
