"""The reference part of docs/spec.md, generated from the registries so that it cannot drift:
every primitive op and every standard-library block with its parameters, defaults and example.

    archc spec-reference docs/spec.md            # rewrite the text between the markers
    archc spec-reference docs/spec.md --check    # exit 2 when the file is stale (tests/test_spec_doc.py)
"""
from __future__ import annotations

from pathlib import Path

from archc.errors import ArchcError
from archc.lang.blocks import stdlib
from archc.ops import OPS

BEGIN = "<!-- BEGIN GENERATED: archc spec-reference (do not edit by hand) -->"
END = "<!-- END GENERATED -->"
YAML_WORDS = {True: "true", False: "false", None: "null"}


def entries() -> list[tuple[str, str, object]]:
    """(kind, name, entry) of every op and block: the one place that reads the registries."""
    return ([("primitive", o.name, o) for o in OPS.values()]
            + [("block", b.name, b) for b in stdlib().values()])


def _default(p) -> str:
    """As a spec writes it: YAML's true/false/null, expressions as they are."""
    if p.required:
        return "**required**"
    text = YAML_WORDS[p.default] if p.default is None or isinstance(p.default, bool) else p.default
    return f"`{text}`".replace("|", "\\|")


def _param_rows(params: dict) -> list[str]:
    rows = ["| parameter | type | default | allowed | meaning |", "|---|---|---|---|---|"]
    for p in params.values():
        allowed = ", ".join(map(str, p.choices)) or (f">= {p.min}" if p.min is not None else "")
        rows.append(f"| `{p.name}` | {p.type} | {_default(p)} | {allowed} | {p.doc} |".replace("\n", " "))
    return rows


def _section(kind: str, name: str, entry) -> list[str]:
    lines = [f"### `{name}` ({kind})", "", " ".join(entry.doc.split()), ""]
    if entry.params:
        lines += _param_rows(entry.params) + [""]
    if kind == "primitive" and entry.inputs != "1":
        lines += [f"Inputs: {entry.inputs} (a row names them with `from: [a, b, ...]`).", ""]
    elif kind == "block" and tuple(entry.inputs) != ("in",):
        lines += [f"Inputs: {', '.join(f'`{i}`' for i in entry.inputs)} (a row names them with `from:`).", ""]
    if entry.example:
        lines += ["```yaml", entry.example.strip(), "```", ""]
    return lines


def markdown() -> str:
    """The generated text (without the markers)."""
    lines = [f"{len(OPS)} primitive ops and {len(stdlib())} standard-library blocks "
             f"(`archc/lang/stdlib.yaml`); `archc ops` lists the same.", ""]
    for kind, name, entry in entries():
        lines += _section(kind, name, entry)
    return "\n".join(lines).rstrip() + "\n"


def refresh(path: Path, check: bool = False) -> bool:
    """Put the generated text between the markers of `path`; True when it changed (with `check`,
    nothing is written and a stale file is an error naming the command that fixes it)."""
    text = Path(path).read_text()
    if BEGIN not in text or END not in text:
        raise ArchcError(f"{path}: no '{BEGIN}' ... '{END}' markers to fill")
    head, rest = text.split(BEGIN, 1)
    new = f"{head}{BEGIN}\n{markdown()}{END}{rest.split(END, 1)[1]}"
    if new == text:
        return False
    if check:
        raise ArchcError(f"{path}: the op and block reference is stale; run `archc spec-reference {path}`")
    Path(path).write_text(new)
    return True
