"""The spec's JSON Schema (archc/lang/schema/spec.schema.json) and its errors as one line that names the
token: the most specific sub-error of a oneOf, an unknown key before the missing one it explains.

A document is first checked by `conforms`, a small checker of the keywords archc's schemas use (the answer
jsonschema's Draft202012Validator.is_valid gives, tests/test_schema_check.py compares the two); jsonschema,
slow to import (~0.08 s CPU: its format checkers), is loaded only to explain a document that fails, or for a
schema with a keyword `conforms` does not know."""
from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources

from archc.errors import SpecError, did_you_mean
from archc.lang import yamlio


@lru_cache(maxsize=None)
def schema() -> dict:
    return json.loads(resources.files("archc.lang").joinpath("schema/spec.schema.json").read_text())


def validate_schema(doc: yamlio.Document, sch: dict | None = None) -> None:
    sch = sch or schema()
    try:
        if conforms(doc.data, sch, sch):
            return
    except Unsupported:
        pass
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


class Unsupported(Exception):
    """A schema keyword `conforms` does not check: jsonschema decides."""


_IGNORED = {"$schema", "$id", "$defs", "title", "description", "examples", "default"}  # no assertion
_TYPES = {"object": lambda v: isinstance(v, dict), "array": lambda v: isinstance(v, list),
          "string": lambda v: isinstance(v, str), "boolean": lambda v: isinstance(v, bool),
          "null": lambda v: v is None,
          "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
          "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float)
                                                                                    and v.is_integer())}


def conforms(value, sch, root: dict) -> bool:
    """Whether `value` (YAML data) is valid under `sch` (JSON Schema 2020-12; `root` holds its $defs), as
    jsonschema judges it, for the keywords archc's schemas use; Unsupported for any other keyword."""
    if isinstance(sch, bool):
        return sch
    for key, want in sch.items():
        if key in _IGNORED:
            continue
        check = _KEYWORDS.get(key)
        if check is None:
            raise Unsupported(key)
        if not check(value, want, sch, root):
            return False
    return True


def _ref(value, ref, sch, root) -> bool:
    if not ref.startswith("#/$defs/") or "/" in ref[len("#/$defs/"):]:
        raise Unsupported(ref)
    return conforms(value, root["$defs"][ref[len("#/$defs/"):]], root)


def _type(value, want, sch, root) -> bool:
    return any(_TYPES[t](value) for t in ([want] if isinstance(want, str) else want))


def _items(value, want, sch, root) -> bool:
    return not isinstance(value, list) or all(conforms(v, want, root) for v in value[len(sch.get("prefixItems", ())):])


def _prefix(value, want, sch, root) -> bool:
    return not isinstance(value, list) or all(conforms(v, w, root) for v, w in zip(value, want))


def _properties(value, want, sch, root) -> bool:
    return not isinstance(value, dict) or all(conforms(value[k], w, root) for k, w in want.items() if k in value)


def _additional(value, want, sch, root) -> bool:
    known = sch.get("properties", {})
    return not isinstance(value, dict) or all(conforms(v, want, root) for k, v in value.items() if k not in known)


def _number(test):
    return lambda value, want, sch, root: not _TYPES["number"](value) or test(value, want)


def _exact(value, want) -> bool:
    """jsonschema's equality for the string constants archc's schemas use."""
    if not isinstance(want, str):
        raise Unsupported(repr(want))
    return isinstance(value, str) and value == want


_KEYWORDS = {
    "$ref": _ref, "type": _type, "items": _items, "prefixItems": _prefix, "properties": _properties,
    "additionalProperties": _additional,
    "required": lambda value, want, sch, root: not isinstance(value, dict) or all(k in value for k in want),
    "propertyNames": lambda value, want, sch, root: not isinstance(value, dict) or all(
        conforms(k, want, root) for k in value),
    "minItems": lambda value, want, sch, root: not isinstance(value, list) or len(value) >= want,
    "maxItems": lambda value, want, sch, root: not isinstance(value, list) or len(value) <= want,
    "pattern": lambda value, want, sch, root: not isinstance(value, str) or re.search(want, value) is not None,
    "minimum": _number(lambda v, w: v >= w), "maximum": _number(lambda v, w: v <= w),
    "exclusiveMinimum": _number(lambda v, w: v > w),
    "oneOf": lambda value, want, sch, root: sum(conforms(value, w, root) for w in want) == 1,
    "not": lambda value, want, sch, root: not conforms(value, want, root),
    "enum": lambda value, want, sch, root: any(_exact(value, w) for w in want),
    "const": lambda value, want, sch, root: _exact(value, want),
}
