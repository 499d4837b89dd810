"""Validate the documents archc ships with jsonschema and list their keys in archc/lang/schema/valid.json,
so that loading one skips importing jsonschema (archc.lang.schema.validate_schema). Run it after changing a
bundled spec, the stdlib or the schema:

    python -m archc.lang.prevalidate

A stale list costs only start-up time (an unlisted document is validated as any user's spec is);
tests/test_schema_check.py fails when a shipped document is missing from it."""
from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from archc.lang import yamlio
from archc.lang.blocks import stdlib_schema
from archc.lang.library import bundled
from archc.lang.schema import document_key, schema


def shipped() -> list[tuple[str, object, dict]]:
    """(name, data, schema) of every document archc ships and validates on load."""
    docs = [(name, yamlio.load(str(path), yamlio.read_text(path), packaged=True).data, schema())
            for name, path in sorted(bundled().items())]
    text = resources.files("archc.lang").joinpath("stdlib.yaml").read_text()
    return docs + [("stdlib", yamlio.load("archc/lang/stdlib.yaml", text, packaged=True).data, stdlib_schema())]


def keys() -> list[str]:
    """The keys of the shipped documents jsonschema accepts (a rejected one is not listed)."""
    import jsonschema

    return sorted({document_key(data, sch) for _, data, sch in shipped()
                   if jsonschema.Draft202012Validator(sch).is_valid(data)} - {None})


def main() -> None:
    path = Path(str(resources.files("archc.lang").joinpath("schema/valid.json")))
    path.write_text(json.dumps({"about": "keys of shipped documents jsonschema accepted "
                                "(python -m archc.lang.prevalidate)", "keys": keys()}, indent=1) + "\n")
    print(f"{path}: {len(keys())} documents")


if __name__ == "__main__":
    main()
