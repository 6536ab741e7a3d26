"""The new side's answers against the route's documented response: where, and what."""

from __future__ import annotations

from facade.contracts.conformance import MAX_VIOLATIONS, ResponseConformance

SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "owner": {"type": "array"},
        "lines": {"type": "array", "items": {"type": "integer"}},
    },
    "required": ["id"],
}


def test_violations_name_the_place_and_what_the_schema_wants() -> None:
    found = ResponseConformance(SCHEMA, {}).violations({"id": "seven"})
    assert [(v.pointer, v.message) for v in found] == [("/id", "breaks type: 'integer'")]
    [missing] = ResponseConformance(SCHEMA, {}).violations({})
    assert missing.message == "'id' is a required property"


def test_messages_never_quote_the_value_that_broke_the_schema() -> None:
    """Messages go to logs and to recorded shadow diffs: a card number in the value must
    not ride along in the text."""
    answer = {"id": 1, "owner": {"name": "Ada", "cardNumber": "4111111111111111"}}
    [violation] = ResponseConformance(SCHEMA, {}).violations(answer)
    assert violation.pointer == "/owner"
    assert "4111" not in violation.message and "Ada" not in violation.message


def test_a_badly_broken_answer_stops_at_the_cap() -> None:
    found = ResponseConformance(SCHEMA, {}).violations({"id": 1, "lines": ["x"] * 10_000})
    assert len(found) == MAX_VIOLATIONS
