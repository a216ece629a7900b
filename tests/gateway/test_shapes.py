"""The response shapes (gateway/shapes.py): :func:`shaped` gives exactly what DRF's serializers give,
``dict(Serializer(values).data)``, for every output serializer, on values generated from their fields; it drops
members the definition does not name, raises where a member the definition names is missing, and keeps None."""

from __future__ import annotations

import copy
import datetime as dt
import enum
import inspect
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from rest_framework import serializers
from rest_framework.fields import Field
from rest_framework.relations import PKOnlyObject

from gateway import shapes
from gateway.api import consent_serializers
from gateway.shapes import (
    DecisionOutSerializer,
    DryRunOutSerializer,
    InformationRequestOutSerializer,
    LegalBasisOutSerializer,
    ReasonOutSerializer,
    shaped,
)

# Every output serializer of shapes.py, and the consent shapes that are produced through shaped() too.
SHAPES = sorted(
    (
        cls
        for module in (shapes, consent_serializers)
        for cls in vars(module).values()
        if inspect.isclass(cls)
        and issubclass(cls, serializers.Serializer)
        and cls.__module__ == module.__name__
        and (module is shapes or cls.__name__.endswith("OutSerializer"))
    ),
    key=lambda cls: cls.__name__,
)

TEXT = st.text(max_size=10)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
BOOLEAN_WORDS = ["true", "False", "YES", "n", "on", "off", "1", "0", "null", "", "maybe"]
# Values of other kinds, in place of one member: most are refused by the field (both raise), some are converted
# through DRF (a callable is called, a PKOnlyObject without a key is null, a naive time is made aware).
ODD = (
    JSON
    | st.sampled_from(["x", "not a time", "1.5"])
    | st.datetimes()
    | st.builds(object)
    | st.builds(PKOnlyObject, pk=st.none() | st.integers())
    | st.just(lambda: "called")
)


def value_of(field: Field) -> SearchStrategy[Any]:
    """Values the field converts: the types the API passes it, and the other types DRF converts."""
    if isinstance(field, serializers.ListSerializer):
        child = members_of(field.child)
        return st.lists(child, max_size=3) | st.lists(child, max_size=2).map(tuple)
    if isinstance(field, serializers.Serializer):
        return members_of(field)
    if isinstance(field, serializers.BooleanField):
        return st.booleans() | st.integers(-2, 3) | st.sampled_from([0.0, 1.0, 2.5]) | st.sampled_from(BOOLEAN_WORDS)
    if isinstance(field, serializers.ChoiceField):
        return st.sampled_from(list(field.choices)) | st.just("") | TEXT | st.integers(0, 3)
    if isinstance(field, serializers.IntegerField):
        return st.integers() | st.booleans() | st.sampled_from(["7", 2.0])
    if isinstance(field, serializers.FloatField):
        return st.floats(allow_nan=False) | st.integers()
    if isinstance(field, serializers.CharField):
        return TEXT | st.integers()
    if isinstance(field, serializers.DateTimeField):
        return st.sampled_from(["2026-12-01T10:00:00Z", ""]) | st.datetimes(
            dt.datetime(1900, 1, 1), dt.datetime(2100, 1, 1), timezones=st.just(dt.UTC)
        )
    if isinstance(field, serializers.DateField):
        return st.sampled_from(["2026-12-01", ""]) | st.dates()
    if isinstance(field, serializers.ListField):
        child = st.none() | value_of(field.child)
        return st.lists(child, max_size=3) | st.lists(child, max_size=2).map(tuple)
    if isinstance(field, serializers.DictField):
        return st.dictionaries(TEXT | st.integers(), st.none() | value_of(field.child), max_size=3)
    return JSON


def members_of(serializer: serializers.Serializer) -> SearchStrategy[dict[str, Any]]:
    """A dict with a value (or None) for every member the serializer reads, and members it does not name."""
    members: dict[str, SearchStrategy[Any]] = {}
    for field in serializer.fields.values():
        if field.write_only or not field.source_attrs:
            continue
        value: SearchStrategy[Any] = st.none() | value_of(field)
        for attr in reversed(field.source_attrs[1:]):
            value = st.fixed_dictionaries({attr: value})
        members[field.source_attrs[0]] = value
    extra = st.dictionaries(TEXT.filter(lambda key: key not in members), JSON, max_size=2)
    return st.tuples(st.fixed_dictionaries(members), extra).map(lambda both: {**both[1], **both[0]})


def member_slots(serializer: serializers.Serializer, value: Any) -> list[tuple[dict[str, Any], str, Field]]:
    """Where in ``value`` the serializer (and those nested in it) look a member up, with the member's field."""
    if type(value) is not dict:
        return []
    slots = []
    for field in serializer.fields.values():
        if field.write_only or not field.source_attrs or field.source_attrs[0] not in value:
            continue
        key = field.source_attrs[0]
        slots.append((value, key, field))
        if isinstance(field, serializers.ListSerializer) and isinstance(value[key], (list, tuple)):
            for item in value[key]:
                slots.extend(member_slots(field.child, item))
        elif isinstance(field, serializers.Serializer):
            slots.extend(member_slots(field, value[key]))
    return slots


def outcome(make: Callable[[], dict[str, Any]]) -> tuple[str, Any]:
    try:
        return "answered", make()
    except Exception as exc:
        return "raised", type(exc)


def assert_as_drf(serializer: type[serializers.Serializer], values: dict[str, Any]) -> str:
    """shaped() answers what DRF answers, with the same types and member order, or raises as DRF raises."""
    drf = outcome(lambda: dict(serializer(values).data))
    ours = outcome(lambda: shaped(serializer, values))
    assert ours == drf, (values, ours, drf)
    assert repr(ours) == repr(drf), (values, ours, drf)  # True is not 1, and the members come in the same order
    return drf[0]


def check_against_drf(serializer: type[serializers.Serializer], data: st.DataObject) -> None:
    """Generated values, then the same with one member missing, then with one member of another kind."""
    values = data.draw(members_of(serializer()))
    assert assert_as_drf(serializer, values) == "answered"

    missing = copy.deepcopy(values)
    container, key, field = data.draw(st.sampled_from(member_slots(serializer(), missing)))
    del container[key]
    # A member the definition names cannot be left out: DRF raises, and so does shaped(); a nullable one is null.
    assert assert_as_drf(serializer, missing) == ("raised" if field.required and not field.allow_null else "answered")

    container, key, _ = data.draw(st.sampled_from(member_slots(serializer(), values)))
    container[key] = data.draw(ODD)
    assert_as_drf(serializer, values)


# --- Every shape of the API, on generated values --------------------------------------------------------------


@pytest.mark.parametrize("serializer", SHAPES, ids=lambda cls: cls.__name__)
@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_shaped_is_what_drf_gives(serializer: type[serializers.Serializer], data: st.DataObject) -> None:
    check_against_drf(serializer, data)


# --- The contract, by example ----------------------------------------------------------------------------------

DECISION = {
    "category": "police_incidents",
    "provider": "politie-rr",
    "outcome": "permit",
    "rule": "vt-police",
    "rule_version": 3,
    "legal_basis": {"code": "wvggz", "reference": "art. 1"},
    "consent": None,
    "preauthorisation": None,
    "reasons": [{"code": "permitted", "message": "A rule permits it."}],
    "emergency_access": False,
}
REQUEST = {
    "id": "req-1",
    "status": "released",
    "created_at": "2026-12-01T10:00:00Z",
    "purpose": "vt_safety_assessment",
    "case_reference": "CHGK-RR-2026-0001",
    "emergency": False,
    "decisions": [DECISION, {**DECISION, "category": "house_ban"}],
    "data": {"police_incidents": [{"date": "2026-11-02"}], "house_ban": None},
    "audit": {"index": 12, "leaf_hash": "ab" * 32},
}


def test_members_the_definition_does_not_name_never_reach_the_wire() -> None:
    values = {**REQUEST, "subject_bsn": "999990019", "audit": {**REQUEST["audit"], "secret": 1}}
    values["decisions"] = [{**DECISION, "redact": ["address"], "shielded": True}]
    body = shaped(InformationRequestOutSerializer, values)
    assert "subject_bsn" not in body
    assert body["audit"] == REQUEST["audit"]
    assert set(body["decisions"][0]) == set(DECISION)


def test_a_missing_member_raises_and_a_missing_nullable_one_is_null() -> None:
    with pytest.raises(KeyError):
        shaped(DecisionOutSerializer, {k: v for k, v in DECISION.items() if k != "category"})
    with pytest.raises(KeyError):
        shaped(DecisionOutSerializer, {**DECISION, "reasons": [{"code": "permitted"}]})
    with pytest.raises(KeyError):
        shaped(DryRunOutSerializer, {"decisions": [], "audit": {"index": 1}})
    assert shaped(DecisionOutSerializer, {k: v for k, v in DECISION.items() if k != "rule"})["rule"] is None


def test_none_stays_none_and_values_are_converted_as_drf_does() -> None:
    body = shaped(DecisionOutSerializer, {**DECISION, "category": None, "rule_version": True, "emergency_access": 1})
    assert body["category"] is None
    assert body["rule_version"] == 1 and type(body["rule_version"]) is int
    assert body["emergency_access"] is True


def test_a_shape_makes_no_serializer_fields_per_call(monkeypatch: pytest.MonkeyPatch) -> None:
    shaped(InformationRequestOutSerializer, REQUEST)
    made: list[type] = []
    init = Field.__init__

    def counting(self: Field, *args: Any, **kwargs: Any) -> None:
        made.append(type(self))
        init(self, *args, **kwargs)

    monkeypatch.setattr(Field, "__init__", counting)
    assert shaped(InformationRequestOutSerializer, REQUEST) == dict(InformationRequestOutSerializer(REQUEST).data)
    assert made, "DRF makes its fields anew for every serializer"
    made.clear()
    shaped(InformationRequestOutSerializer, REQUEST)
    assert made == []


# --- What the plan does not know goes through DRF --------------------------------------------------------------


class Colour(enum.Enum):
    RED = "red"
    BLUE = 2
    UNSET = ""  # DRF answers an empty string as it is, not as this member


class Shouting(serializers.CharField):
    def to_representation(self, value: Any) -> str:
        return str(value).upper()


class Initials(serializers.Serializer):
    name = serializers.CharField()

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return {"initial": str(instance["name"])[:1]}


class Labels(serializers.ListSerializer):
    def to_representation(self, data: Any) -> list[Any]:
        return [*super().to_representation(data), "end"]


class Labelled(serializers.Serializer):
    label = serializers.CharField()

    class Meta:
        list_serializer_class = Labels


class EveryKindSerializer(serializers.Serializer):
    """Each field class and option a plan converts itself, and each it leaves to DRF."""

    text = serializers.CharField(allow_null=True)
    renamed = serializers.CharField(source="original")
    dotted = serializers.IntegerField(source="outer.inner")
    whole = serializers.SerializerMethodField()
    shouting = Shouting()
    optional = serializers.CharField(required=False)
    defaulted = serializers.CharField(default="d")
    secret = serializers.CharField(write_only=True)
    big = serializers.BigIntegerField()
    flag = serializers.BooleanField(allow_null=True)
    plain_flag = serializers.BooleanField()
    ratio = serializers.FloatField()
    colour = serializers.ChoiceField(choices=[(Colour.RED, "Red"), (Colour.BLUE, "Blue"), (Colour.UNSET, "-"), 3, "x"])
    when = serializers.DateTimeField(allow_null=True)
    day = serializers.DateField()
    blob = serializers.JSONField()
    binary = serializers.JSONField(binary=True)
    tags = serializers.ListField(child=serializers.CharField(allow_null=True))
    grid = serializers.ListField(child=serializers.ListField(child=serializers.IntegerField()))
    counts = serializers.DictField(child=serializers.IntegerField())
    anything = serializers.DictField()
    initials = Initials()
    labelled = Labelled(many=True)
    reasons = ReasonOutSerializer(many=True, allow_null=True)
    basis = LegalBasisOutSerializer(allow_null=True)

    def get_whole(self, instance: dict[str, Any]) -> list[str]:
        return sorted(map(str, instance))


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_every_kind_of_field_is_what_drf_gives(data: st.DataObject) -> None:
    check_against_drf(EveryKindSerializer, data)


def test_what_the_plan_leaves_to_drf_is_drf_s() -> None:
    values = {
        **{name: None for name in EveryKindSerializer().fields},
        "original": "o",
        "outer": {"inner": "5"},
        "secret": "never on the wire",
        "shouting": "quiet",
        "colour": 2,
        "initials": {"name": "Sanne"},
        "labelled": [{"label": "a"}],
        "binary": {"a": 1},
    }
    del values["optional"], values["defaulted"]
    body = shaped(EveryKindSerializer, values)
    assert body == dict(EveryKindSerializer(values).data)
    assert "optional" not in body and "secret" not in body
    assert body["renamed"] == "o" and body["dotted"] == 5 and body["defaulted"] == "d"
    assert body["shouting"] == "QUIET" and body["colour"] is Colour.BLUE and body["binary"] == b'{"a": 1}'
    assert body["initials"] == {"initial": "S"} and body["labelled"] == [{"label": "a"}, "end"]
    assert body["whole"] == sorted(values)
