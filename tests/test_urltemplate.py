"""URL templates: parsed once, rendered per request with every value percent-encoded."""

from __future__ import annotations

import pytest

from facade.errors import InvalidRequest
from facade.urltemplate import TemplateError, UrlTemplate

TEMPLATE = UrlTemplate.parse(
    'https://orders.internal:8443/v2/orders/{path.id}/lines?u={headers."x-user-id"}'
)


def render(template: UrlTemplate, **data: object) -> str:
    return template.render({"path": {}, "query": {}, "headers": {}, "body": None, **data})


def test_origin_and_placeholders() -> None:
    assert TEMPLATE.origin == "https://orders.internal:8443"
    assert [p.field for p in TEMPLATE.placeholders] == ["path.id", "headers.x-user-id"]


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("42", "42"),
        ("..%2F..%2Fadmin", "..%252F..%252Fadmin"),
        ("../../admin", "..%2F..%2Fadmin"),
        ("@evil.example", "%40evil.example"),
        ("x?y#z", "x%3Fy%23z"),
        ("https://evil.example/", "https%3A%2F%2Fevil.example%2F"),
        ("a b&c=d", "a%20b%26c%3Dd"),
    ],
)
def test_values_are_encoded_whole(value: str, encoded: str) -> None:
    url = render(TEMPLATE, path={"id": value}, headers={"x-user-id": value})
    assert url == f"https://orders.internal:8443/v2/orders/{encoded}/lines?u={encoded}"


def test_scalars_render_as_json_writes_them() -> None:
    template = UrlTemplate.parse("http://h/{body.a}/{body.b}?c={body.c}")
    assert render(template, body={"a": 7, "b": True, "c": 1.5}) == "http://h/7/true?c=1.5"


def test_a_missing_query_value_is_empty_and_a_missing_path_value_refused() -> None:
    template = UrlTemplate.parse("http://h/x/{query.a}?b={query.b}")
    assert render(template, query={"a": "1"}) == "http://h/x/1?b="
    with pytest.raises(InvalidRequest) as caught:
        render(template, query={"b": "1"})
    assert [(e.field, e.message) for e in caught.value.errors] == [("query.a", "is required")]


@pytest.mark.parametrize("value", ["..", ".", ""])
def test_dot_segments_are_refused(value: str) -> None:
    with pytest.raises(InvalidRequest):
        render(TEMPLATE, path={"id": value})


def test_lists_and_objects_are_refused() -> None:
    template = UrlTemplate.parse("http://h/x?a={query.a}")
    with pytest.raises(InvalidRequest, match="single value"):
        render(template, query={"a": ["1", "2"]})


def test_a_template_without_path_or_with_only_a_query() -> None:
    assert render(UrlTemplate.parse("http://h:81")) == "http://h:81"
    assert render(UrlTemplate.parse("http://h?x={query.x}"), query={"x": "/"}) == "http://h?x=%2F"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{path.host}://h/x", "scheme, host or port"),
        ("http://{path.host}/x", "scheme, host or port"),
        ("http://h.example:{path.port}/x", "scheme, host or port"),
        ("http://h{query.x}.example/x", "scheme, host or port"),
        ("/relative/{path.id}", "absolute http(s) URL"),
        ("ftp://h/x", "http:// or https://"),
        ("http://:80/x", "no host"),
        ("http://h/a/../b", "'.' or '..' segment"),
        ("http://h/{path.id", "unclosed"),
        ("http://h/{path.{id}}", "unclosed"),
        ("http://h/x#frag", "fragment"),
        ("http://h/{length(path)}", "plain field path"),
        ('http://h/{path."id}', "not a field path"),
    ],
)
def test_bad_templates_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message.replace("(", r"\(").replace(")", r"\)")):
        UrlTemplate.parse(text)
