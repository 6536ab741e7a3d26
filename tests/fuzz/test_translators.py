"""hypothesis on the hardened XML parse and both translators, from a seed corpus.

The seeds in tests/fuzz/corpus/ are replies a legacy system sends (good ones, faults, HTML,
entities, wrong types, empty texts) and request bodies clients send (full, minimal, wrong
types, markup, deep values). hypothesis mutates them (truncation, byte changes, inserted
bytes, element texts and JSON values replaced) and checks:

- the parse raises only XMLSyntaxError or UnsafeXml;
- a reply becomes JSON that fits the route's documented response schema, or a FacadeError
  with a 4xx/5xx of its own (never an unforeseen exception, which would be a 500);
- a request becomes an envelope that is well-formed XML, or a 400/422; and the facade
  accepts exactly the bodies its documented request schema accepts.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import drawn
from hypothesis import event, given
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from jsonschema import Draft202012Validator
from lxml import etree
from wsdls import TNS, envelope, load_operation, write_wsdl, wsdl

from facade.backends.legacy_reply import translate_reply
from facade.context import RequestContext
from facade.errors import BackendNotSoap, BackendUnexpectedResponse, ClientError, FacadeError
from facade.mapping.loader import load_mappings
from facade.net import Reply
from facade.routetable import CompiledRoute, RouteTable, build_route_table
from facade.soap.message import build_request, read_reply
from facade.soap.registry import WsdlRegistry
from facade.translate.request import build_arguments
from facade.translate.response import encode_json, to_json
from facade.translate.xml import UnsafeXml, parse_xml, parse_xml_streaming

ROOT = Path(__file__).resolve().parent.parent.parent
CORPUS = Path(__file__).resolve().parent / "corpus"
REPLIES = [path.read_bytes() for path in sorted((CORPUS / "replies").glob("*.xml"))]
REQUESTS = [
    orjson.loads(path.read_bytes()) for path in sorted((CORPUS / "requests").glob("*.json"))
]
FUZZ = drawn(150)


@functools.cache
def demo_table() -> RouteTable:
    registry = WsdlRegistry(ROOT / "wsdl")
    return build_route_table(load_mappings(ROOT / "mappings", {}), registry)


@pytest.fixture
def table() -> RouteTable:
    return demo_table()


FACETS = frozenset(
    {"enum", "const", "pattern", "format", "minLength", "maxLength", "minItems", "maxItems"}
    | {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}
)
"""Keywords about values rather than types: a legacy reply is checked for its types (the
facade does not re-validate what the legacy system says within them)."""


def types_only(schema: Any) -> Any:
    if isinstance(schema, list):
        return [types_only(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    kept: dict[str, Any] = {}
    for key, value in schema.items():
        if key in FACETS:
            continue
        if key in ("properties", "$defs", "schemas"):
            kept[key] = {name: types_only(sub) for name, sub in value.items()}
        else:
            kept[key] = types_only(value)
    return kept


def route(table: RouteTable, name: str) -> CompiledRoute:
    return next(compiled for compiled in table if compiled.name == name)


def _components(table: RouteTable) -> dict[str, Any]:
    return {"schemas": dict(table.contracts.components)}


def validator(table: RouteTable, schema: dict[str, Any]) -> Draft202012Validator:
    components = {"components": {"schemas": dict(table.contracts.components)}}
    checker = Draft202012Validator.FORMAT_CHECKER  # the formats are part of the promise
    return Draft202012Validator({**schema, **components}, format_checker=checker)


def note(outcome: str) -> None:
    """Counted in `--hypothesis-show-statistics`, so a run shows both outcomes occur."""
    if currently_in_test_context():
        event(outcome)


# mutations of bytes and of XML texts


def _texts_replaced(seed: bytes, data: st.DataObject) -> bytes:
    try:
        root = etree.fromstring(seed, etree.XMLParser(resolve_entities=False))
    except etree.XMLSyntaxError:
        return seed
    leaves = [
        element for element in root.iter() if isinstance(element.tag, str) and not len(element)
    ]
    for element in data.draw(st.lists(st.sampled_from(leaves), max_size=3)):
        element.text = data.draw(_xml_text)
    return bytes(etree.tostring(root))


_xml_text = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=30),
    st.sampled_from(["", " ", "-1", "0", "1e400", "NaN", "INF", "true", "2019-02-30", "9" * 30]),
    st.integers().map(str),
    st.decimals(allow_nan=False).map(str),
)


@st.composite
def replies(draw: st.DrawFn) -> bytes:
    content = draw(st.sampled_from(REPLIES))
    data = draw(st.data())
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["texts", "cut", "byte", "insert"]))
        if kind == "texts":
            content = _texts_replaced(content, data)
        elif kind == "cut":
            content = content[: draw(st.integers(0, len(content)))]
        elif kind == "byte" and content:
            at = draw(st.integers(0, len(content) - 1))
            content = content[:at] + bytes([draw(st.integers(0, 255))]) + content[at + 1 :]
        else:
            at = draw(st.integers(0, len(content)))
            content = content[:at] + draw(st.binary(max_size=12)) + content[at:]
    return content


@given(content=st.one_of(replies(), st.binary(max_size=200)))
@FUZZ
def test_the_parse_only_raises_its_own_errors(content: bytes) -> None:
    try:
        root = parse_xml(content)
    except (etree.XMLSyntaxError, UnsafeXml):
        return
    assert isinstance(root.tag, str)


def _parsed(parse: Any) -> Any:
    """The parsed document's bytes, or the kind of error the parse raised."""
    try:
        return etree.tostring(parse().getroottree())
    except (etree.XMLSyntaxError, UnsafeXml) as exc:
        return type(exc)


@given(
    content=st.one_of(replies(), st.binary(max_size=200)),
    chunk=st.sampled_from([1, 3, 64, 16 * 1024]),
)
@FUZZ
def test_the_streaming_parse_accepts_and_builds_what_the_parse_does(
    content: bytes, chunk: int
) -> None:
    """Fed in chunks (split anywhere, inside a character or a tag), the parse that hands
    on finished elements accepts the same documents, builds the same tree and raises the
    same errors as the parse of the whole bytes."""
    finished: list[Any] = []
    tags = ["{http://example.com/crm}Customer", "{http://example.com/crm}Address"]
    streamed = _parsed(lambda: parse_xml_streaming(content, tags, finished.append, chunk))
    assert streamed == _parsed(lambda: parse_xml(content))
    note("parsed" if isinstance(streamed, bytes) else "refused")


@pytest.mark.parametrize("status", [200, 500])
def test_each_seed_reply_is_json_of_the_schema_or_a_problem(table: RouteTable, status: int) -> None:
    for content in REPLIES:
        check_reply(table, content, status)


@given(content=replies(), status=st.sampled_from([200, 500, 503]))
@FUZZ
def test_fuzzed_replies_are_json_of_the_schema_or_a_problem(content: bytes, status: int) -> None:
    check_reply(demo_table(), content, status)


def check_reply(table: RouteTable, content: bytes, status: int) -> None:
    compiled = route(table, "get-customer")
    reply = Reply(status, {"content-type": "text/xml; charset=utf-8"}, content)
    try:
        value = translate_reply(compiled, reply)
    except FacadeError as error:
        assert 400 <= error.status <= 599 and error.status != 500, error
        note(f"reply refused: {error.slug}")
        return
    note("reply translated")
    encode_json(value)  # plain JSON values only
    contract = table.contracts.routes[compiled.name]
    checker = Draft202012Validator(
        {**types_only(contract.response), "components": types_only(_components(table))}
    )
    errors = [e.message for e in checker.iter_errors(value)]
    assert errors == [], (content, value)


# requests: JSON bodies and path values -> SOAP arguments -> envelope

json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=12),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


def _places(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    places = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            places += _places(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            places += _places(item, (*path, index))
    return places


def _replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, *rest = path
    copied = copy.copy(value)
    copied[head] = _replaced(value[head], tuple(rest), new)
    return copied


@st.composite
def bodies(draw: st.DrawFn) -> Any:
    body = draw(st.sampled_from(REQUESTS))
    for _ in range(draw(st.integers(0, 3))):
        place = draw(st.sampled_from(_places(body)))
        body = _replaced(body, place, draw(st.one_of(json_values, st.sampled_from(_seed_values()))))
    return body


def _seed_values() -> list[Any]:
    values: list[Any] = []
    for body in REQUESTS:
        for place in _places(body)[1:]:
            item: Any = body
            for part in place:
                item = item[part]
            values.append(item)
    return values


def check_request(table: RouteTable, name: str, context: RequestContext) -> None:
    compiled = route(table, name)
    schema_errors = schema_problems(table, compiled, context)
    try:
        arguments = build_arguments(
            compiled.arguments, context.expression_data(), table.validators[name]
        )
        soap = build_request(compiled.operation, arguments, compiled.address)
    except ClientError as error:
        assert error.status in (400, 422), error
        assert schema_errors, f"the facade refused what its schema accepts: {error.detail}"
        note("request refused")
        return
    note("request accepted")
    assert not schema_errors, f"the facade accepted what its schema refuses: {schema_errors}"
    envelope = parse_xml(soap.content)
    assert etree.QName(envelope).localname == "Envelope"


def schema_problems(
    table: RouteTable, compiled: CompiledRoute, context: RequestContext
) -> list[str]:
    """What the documented request (body and parameters) says is wrong with `context`."""
    contract = table.contracts.routes[compiled.name]
    problems = []
    if contract.request_body is not None:
        checker = validator(table, contract.request_body)
        problems += [e.message for e in checker.iter_errors(context.body)]
    for parameter in contract.parameters:
        value = getattr(context, parameter["in"]).get(parameter["name"])
        if value is None:
            continue
        checker = validator(table, parameter["schema"])
        problems += [e.message for e in checker.iter_errors(_as_typed(value, parameter["schema"]))]
    return problems


def _as_typed(text: str, schema: dict[str, Any]) -> Any:
    """A path or query value as the documented parameter reads it (an integer's digits)."""
    types = schema.get("type")
    if types == "integer" or (isinstance(types, list) and "integer" in types):
        try:
            return int(text, 10) if text.strip() == text and text.lstrip("+-").isdigit() else text
        except ValueError:
            return text
    return text


def test_each_seed_request_is_an_envelope_or_a_client_error(table: RouteTable) -> None:
    for body in REQUESTS:
        check_request(table, "create-customer", RequestContext("create-customer", "r", body=body))


@given(body=bodies())
@FUZZ
def test_fuzzed_bodies_agree_with_the_request_schema(body: Any) -> None:
    check_request(
        demo_table(), "create-customer", RequestContext("create-customer", "r", body=body)
    )


@given(
    body=bodies(),
    id=st.one_of(st.integers().map(str), st.text(max_size=12), st.sampled_from(["1", "-0", "+7"])),
)
@FUZZ
def test_fuzzed_updates_agree_with_the_request_schema(body: Any, id: str) -> None:
    context = RequestContext("update-customer", "r", path={"id": id}, body=body)
    check_request(demo_table(), "update-customer", context)


# what the fuzzing found, one case each


def _reply(name: str, replace: tuple[bytes, bytes] = (b"", b"")) -> Reply:
    content = (CORPUS / "replies" / name).read_bytes().replace(*replace)
    return Reply(200, {"content-type": "text/xml"}, content)


def test_required_text_sent_empty_is_the_empty_string() -> None:
    value = translate_reply(route(demo_table(), "get-customer"), _reply("empty-texts.xml"))
    assert isinstance(value, dict)
    assert value["Name"] == "" and value["Address"]["City"] == "" and value["Tags"] == [""]
    assert value["Email"] is None  # optional: absent and empty are alike, null is allowed


@pytest.mark.parametrize(
    ("name", "replace", "error"),
    [
        ("ada.xml", (b"<c:Id>1<", b"<c:Id>99999999999999999999<"), BackendUnexpectedResponse),
        ("ada.xml", (b"<c:Id>1</c:Id>", b"<c:Id></c:Id>"), BackendUnexpectedResponse),
        (
            "ada.xml",
            (b"<c:Balance>1234.50</c:Balance>", b"<c:Balance/>"),
            BackendUnexpectedResponse,
        ),
        ("ada.xml", (b"s:Body", b"s:Head"), BackendNotSoap),
    ],
)
def test_replies_that_break_the_wsdl_are_502s(
    name: str, replace: tuple[bytes, bytes], error: type[FacadeError]
) -> None:
    with pytest.raises(error) as caught:
        translate_reply(route(demo_table(), "get-customer"), _reply(name, replace))
    assert caught.value.status == 502


def test_integers_beyond_64_bits_are_digits(tmp_path: Path) -> None:
    big = '<xs:element name="Big" type="xs:integer"/>'
    operation = load_operation(write_wsdl(tmp_path, "big.wsdl", wsdl({"Echo": (big, big)})), "Echo")
    digits = "-" + "9" * 30
    body = f'<t:EchoResponse xmlns:t="{TNS}"><t:Big>{digits}</t:Big></t:EchoResponse>'
    result = read_reply(operation, Reply(200, {}, envelope(body).encode()))
    value = to_json(result, "string", operation.output_type)
    assert value == {"Big": digits}
    assert encode_json(value) == f'{{"Big":"{digits}"}}'.encode()
    small = body.replace(digits, str(2**63 - 1))
    result = read_reply(operation, Reply(200, {}, envelope(small).encode()))
    assert to_json(result, "string", operation.output_type) == {"Big": 2**63 - 1}
