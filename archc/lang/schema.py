"""The spec's JSON Schema (archc/lang/schema/spec.schema.json) and its errors as one line that names the
token: the most specific sub-error of a oneOf, an unknown key before the missing one it explains."""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

import jsonschema

from archc.errors import SpecError, did_you_mean
from archc.lang import yamlio


@lru_cache(maxsize=None)
def schema() -> dict:
    return json.loads(resources.files("archc.lang").joinpath("schema/spec.schema.json").read_text())


def validate_schema(doc: yamlio.Document, sch: dict | None = None) -> None:
    validator = jsonschema.Draft202012Validator(sch or schema())
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
