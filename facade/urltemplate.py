"""URL templates of new implementations: `${NEW_URL}/customers/{path.id}?expand={query.expand}`.

Safe by construction. The scheme, host and port are written by the mapping (and its
`${VAR}` expansion) only: a `{placeholder}` there is refused when the template is parsed.
Every value put into the path or the query is percent-encoded whole (`/ ? # @ % & =` and
the rest), so it stays inside its one path segment or query value; a path segment that a
value would make empty, `.` or `..` is refused, so no value walks up the path.

    template = UrlTemplate.parse("http://orders.internal/orders/{path.id}")
    template.render({"path": {"id": "../admin"}})
    # 'http://orders.internal/orders/..%2Fadmin'

Placeholders are plain JMESPath field paths over the request context
(`path.id`, `query.q`, `headers."x-user-id"`, `body.customer.id`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult

from facade.errors import FieldProblem, InvalidRequest
from facade.net.seam import origin_problem
from facade.translate.expression import field_path

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_ORIGIN = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)")
_DOT_SEGMENTS = ("", ".", "..")


class TemplateError(ValueError):
    """A URL template that cannot be served; the message says how to fix it."""


@dataclass(frozen=True)
class Placeholder:
    """One `{...}` of a template: a field path over the request context."""

    text: str
    expression: ParsedResult

    @property
    def path(self) -> tuple[str, ...]:
        found = field_path(self.expression)
        return found if found is not None else ()

    @property
    def field(self) -> str:
        """The client-side place to name in errors: `path.id`, `headers.x-user-id`."""
        return ".".join(self.path)


Part = str | Placeholder
"""A literal piece of the template, kept as written, or a placeholder."""


@dataclass(frozen=True)
class UrlTemplate:
    """A parsed template: a fixed origin, path segments and an optional query."""

    text: str
    origin: str
    """`scheme://host:port` exactly as configured; no value ever reaches it."""
    segments: tuple[tuple[Part, ...], ...]
    query: tuple[Part, ...] | None

    @classmethod
    def parse(cls, text: str) -> UrlTemplate:
        """The template, or TemplateError naming what is wrong with it."""
        match = _ORIGIN.match(text)
        if match is None:
            raise TemplateError(_origin_problem(text))
        if "{" in match.group(0) or "}" in match.group(0):
            raise TemplateError(_IN_ORIGIN.format(text=text))
        if match.group("scheme").lower() not in ("http", "https"):
            raise TemplateError(f"{text!r} must start with http:// or https://")
        problem = origin_problem(match.group(0))
        if problem is not None:
            raise TemplateError(problem)
        rest = _tokens(text[match.end() :], text)
        path, query = _split_query(rest)
        # the origin ends where the path begins, so the first piece is always empty
        segments = _segments(path)[1:]
        return cls(text, match.group(0), tuple(segments), query)

    @property
    def placeholders(self) -> tuple[Placeholder, ...]:
        parts = [p for segment in self.segments for p in segment] + list(self.query or ())
        return tuple(p for p in parts if isinstance(p, Placeholder))

    def render(self, data: Mapping[str, Any]) -> str:
        """The URL for one request, or InvalidRequest naming the value that cannot go in."""
        problems: list[FieldProblem] = []
        path = "".join("/" + _segment(s, data, problems) for s in self.segments)
        url = self.origin + path
        if self.query is not None:
            url += "?" + "".join(_query_part(p, data, problems) for p in self.query)
        if problems:
            raise InvalidRequest(problems)
        return url


_IN_ORIGIN = (
    "{text!r}: placeholders may not appear in the scheme, host or port; "
    "those come from the mapping or the environment only (${{VAR}})"
)


def _origin_problem(text: str) -> str:
    if "://" in text and "{" in text.split("://", 1)[0]:
        return _IN_ORIGIN.format(text=text)
    return f"{text!r} must be an absolute http(s) URL like https://orders.internal/orders"


def _tokens(rest: str, text: str) -> list[Part]:
    """Literal text and placeholders of `rest` (what follows the origin of `text`), in
    order; stray braces and fragments refused."""
    parts: list[Part] = []
    position = 0
    for match in _PLACEHOLDER.finditer(rest):
        parts.append(rest[position : match.start()])
        parts.append(_placeholder(match.group(1)))
        position = match.end()
    parts.append(rest[position:])
    literals = [p for p in parts if isinstance(p, str)]
    if any("{" in p or "}" in p for p in literals):
        raise TemplateError(f"{text!r} has an unclosed or nested '{{' or '}}'")
    if any("#" in p for p in literals):
        raise TemplateError(f"{text!r} has a fragment ('#'); a request URL cannot carry one")
    return [p for p in parts if p != ""]


def _placeholder(text: str) -> Placeholder:
    try:
        expression = jmespath.compile(text.strip())
    except JMESPathError as exc:
        raise TemplateError(f"{{{text}}} is not a field path: {str(exc).splitlines()[0]}") from exc
    if field_path(expression) is None:
        raise TemplateError(
            f'{{{text}}} must be a plain field path such as path.id, query.q or headers."x-user-id"'
        )
    return Placeholder(text, expression)


def _split_query(parts: list[Part]) -> tuple[list[Part], tuple[Part, ...] | None]:
    for index, part in enumerate(parts):
        if isinstance(part, str) and "?" in part:
            before, after = part.split("?", 1)
            query = [after, *parts[index + 1 :]]
            return [*parts[:index], before], tuple(p for p in query if p != "")
    return parts, None


def _segments(parts: list[Part]) -> list[tuple[Part, ...]]:
    """Path parts split at the slashes of their literal text."""
    segments: list[list[Part]] = [[]]
    for part in parts:
        if isinstance(part, Placeholder):
            segments[-1].append(part)
            continue
        pieces = part.split("/")
        segments[-1].append(pieces[0])
        segments.extend([piece] for piece in pieces[1:])
    cleaned = [tuple(p for p in segment if p != "") for segment in segments]
    for segment in cleaned[1:]:
        if segment in ((".",), ("..",)):
            raise TemplateError("the path has a '.' or '..' segment; write the path it means")
    return cleaned


def _segment(parts: tuple[Part, ...], data: Mapping[str, Any], problems: list[FieldProblem]) -> str:
    known = len(problems)
    rendered = "".join(_value(p, data, problems, required=True) for p in parts)
    missing = len(problems) > known  # already said why
    if rendered in _DOT_SEGMENTS and not missing and any(isinstance(p, Placeholder) for p in parts):
        fields = ", ".join(p.field for p in parts if isinstance(p, Placeholder))
        problems.append(FieldProblem(fields, f"cannot be {rendered!r} in a URL path segment"))
    return rendered


def _query_part(part: Part, data: Mapping[str, Any], problems: list[FieldProblem]) -> str:
    return _value(part, data, problems, required=False)


def _value(
    part: Part, data: Mapping[str, Any], problems: list[FieldProblem], *, required: bool
) -> str:
    """A literal as written; a placeholder's value percent-encoded whole (nothing is safe)."""
    if isinstance(part, str):
        return part
    value = part.expression.search(data)
    if value is None:
        if required:
            problems.append(FieldProblem(part.field, "is required"))
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return quote(str(value), safe="")
    problems.append(FieldProblem(part.field, "must be a single value, not a list or an object"))
    return ""
