"""The spec's JSON Schema (archc/lang/schema/spec.schema.json) and its errors as one line that names the
token: the most specific sub-error of a oneOf, an unknown key before the missing one it explains.

jsonschema is the one validator. It is slow to import (~0.08 s CPU), so the documents archc ships (the bundled
specs and the stdlib) are validated ahead, as .pyc files are compiled ahead: archc/lang/schema/valid.json
lists the key (sha256 of the schema and the document's data, as canonical JSON) of each shipped document that
jsonschema accepted, written by `python -m archc.lang.prevalidate` and checked by tests/test_schema_check.py.
A document whose key is listed skips the import; any other document (every user's spec) is validated."""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from importlib import resources

from archc.errors import SpecError, did_you_mean
from archc.lang import yamlio


@lru_cache(maxsize=None)
def schema() -> dict:
    return json.loads(resources.files("archc.lang").joinpath("schema/spec.schema.json").read_text())


def validate_schema(doc: yamlio.Document, sch: dict | None = None) -> None:
    sch = sch or schema()
    if document_key(doc.data, sch) in _prevalidated():
        return
    import jsonschema

    validator = jsonschema.Draft202012Validator(sch)
    errors = sorted(validator.iter_errors(doc.data), key=lambda e: (len(e.absolute_path), e.path and str(e.path)))
    if not errors:
        return
    err = _deepest(jsonschema.exceptions.best_match(errors))
    # an unknown key usually explains a missing one beside it ('stagess' for 'stages')
    unknown = [e for e in errors if e.validator == "additionalProperties" and e.absolute_path == err.absolute_path]
    err = unknown[0] if err.validator == "required" and unknown else err
    path = tuple(err.absolute_path)
    if err.validator == "additionalProperties":
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        raise SpecError(_schema_message(err), doc.key_mark(path + (extra[0],)))
    raise SpecError(_schema_message(err), doc.mark(path))


def document_key(data, sch: dict) -> str | None:
    """sha256 of the schema and the data as canonical JSON; None for data JSON cannot hold exactly
    (YAML dates, non-string keys): such a document is always validated."""
    if not _json_exact(data):
        return None
    try:
        text = json.dumps([sch, data], sort_keys=True, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError):
        return None
    return hashlib.sha256(text.encode()).hexdigest()


def _json_exact(data) -> bool:
    """Whether JSON holds `data` without conflating it with other data (string keys only)."""
    if isinstance(data, dict):
        return all(isinstance(k, str) and _json_exact(v) for k, v in data.items())
    if isinstance(data, list):
        return all(_json_exact(v) for v in data)
    return True


@lru_cache(maxsize=None)
def _prevalidated() -> frozenset:
    path = resources.files("archc.lang").joinpath("schema/valid.json")
    try:
        return frozenset(json.loads(path.read_text())["keys"])
    except (OSError, ValueError, KeyError, TypeError):
        return frozenset()


def _deepest(err):
    """Prefer the most specific sub-error of a oneOf/anyOf, as a person would."""
    while err.context:
        err = max(err.context, key=lambda e: (len(e.absolute_path), e.validator != "type"))
    return err


def _where(err) -> str:
    path = list(err.absolute_path)
    return "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else p) for i, p in enumerate(path)) or "spec"


def _schema_message(err) -> str:
    where, v, val = _where(err), err.validator, err.instance
    if v == "required":
        missing = err.message.split("'")[1]
        return f"{where}: missing required field '{missing}'"
    if v == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        extra = sorted(set(val) - set(allowed))
        return f"{where}: unknown field '{extra[0]}' (allowed: {', '.join(allowed)}){did_you_mean(extra[0], allowed)}"
    if v == "type":
        want = err.validator_value if isinstance(err.validator_value, str) else " or ".join(err.validator_value)
        return f"{where}: {val!r} is a {type(val).__name__}, expected {want}"
    if v == "enum":
        hint = did_you_mean(val, err.validator_value)
        return f"{where}: {val!r} is not one of {', '.join(map(str, err.validator_value))}{hint}"
    if v == "const":
        return f"{where}: must be {err.validator_value!r}, got {val!r}"
    if v == "pattern":
        return f"{where}: {val!r} has the wrong form (expected to match {err.validator_value})"
    if v in ("minimum", "exclusiveMinimum", "maximum"):
        return f"{where}: {val!r} is out of range ({v} {err.validator_value})"
    if v in ("minItems", "maxItems"):
        return f"{where}: {err.message}"
    return f"{where}: {err.message}"
