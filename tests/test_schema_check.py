"""Shipped documents skip importing jsonschema only because jsonschema accepted them ahead
(archc/lang/schema/valid.json, written by `python -m archc.lang.prevalidate`): the list is current, a listed
key stands only for that exact data under that exact schema, and every other document is still validated."""
from __future__ import annotations

import copy
import datetime
import json
from importlib import resources

import jsonschema
import pytest

from archc.errors import SpecError
from archc.lang import prevalidate, yamlio
from archc.lang.schema import _prevalidated, document_key, schema, validate_schema

pytestmark = pytest.mark.timeout(300)


def test_the_list_is_exactly_the_shipped_documents_jsonschema_accepts():
    listed = json.loads(resources.files("archc.lang").joinpath("schema/valid.json").read_text())["keys"]
    assert listed == prevalidate.keys(), "run: python -m archc.lang.prevalidate"
    assert len(listed) == len(prevalidate.shipped())  # every shipped document is valid and listed


@pytest.mark.parametrize("name,data,sch", prevalidate.shipped(), ids=lambda v: v if isinstance(v, str) else "")
def test_a_listed_key_stands_for_that_data_and_that_schema_only(name, data, sch):
    key = document_key(data, sch)
    assert key in _prevalidated() and jsonschema.Draft202012Validator(sch).is_valid(data)
    changed = copy.deepcopy(data)
    changed["bogus"] = 1  # the same document with one key more: not listed, and invalid
    assert document_key(changed, sch) not in _prevalidated()
    other = dict(sch, title="another schema")
    assert document_key(data, other) not in _prevalidated()


def test_a_listed_document_changed_by_a_user_is_still_refused():
    name, data, sch = prevalidate.shipped()[0]
    data = copy.deepcopy(data)
    data["stages"] = "not a list"
    with pytest.raises(SpecError, match="stages"):
        validate_schema(yamlio.Document(data, {}, f"{name}.yaml"), sch)


def test_data_json_cannot_hold_exactly_has_no_key():
    assert document_key({1: "a"}, schema()) is None  # a YAML int key would read as the string "1"
    assert document_key({"d": datetime.date(2026, 1, 1)}, schema()) is None
    assert document_key({"x": float("nan")}, schema()) is None
    assert document_key({"1": "a"}, schema()) != document_key({"1": ["a"]}, schema())
