"""Check coerced arguments against the operation's input schema (derived from the XSD), so
enumerations, patterns, lengths and ranges are enforced before any backend call.

Two validators hold one contract. jsonschema explains what is wrong (its messages and paths
are the problems clients see); a compiled one (jsonschema-rs, in Rust) answers "valid?" a
hundred times faster and runs first, so a valid request, the common case, costs next to
nothing. The compiled check is asked only where both must agree: on instances whose strings
are printable ASCII, tab or CR (its regex engine classes other characters differently from
Python's `re`, which jsonschema uses, and Python's `$` also matches before a final newline)
and whose numbers fit 64 bits. Anything else, a schema it does not compile, or its
"invalid" goes to jsonschema, whose verdict stands.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from facade.errors import FieldProblem, InvalidRequest
from facade.translate.response import to_json

_REQUIRED = re.compile(r"^'(.+)' is a required property$")
_PLAIN_TEXT = re.compile(r"[\t\r -~]*")
_INT64 = range(-(2**63), 2**63)
log = logging.getLogger("facade.validate")


class ArgumentValidator:
    """Validates the arguments of one operation; problems name the client's fields.

    validator = ArgumentValidator(input_schema, components)
    validator.check(arguments, {"CustomerId": "path.id"})
    """

    def __init__(self, schema: dict[str, Any], components: Mapping[str, Any]) -> None:
        document = {**schema, "components": {"schemas": dict(components)}}
        self._explain = Draft202012Validator(document)
        self._check = _compiled(document)

    def check(self, arguments: Mapping[str, Any], fields: Mapping[str, str]) -> None:
        """Raise InvalidRequest listing every violation; `fields` maps argument -> client field."""
        problems = self.problems(arguments, fields)
        if problems:
            raise InvalidRequest(problems)

    def problems(
        self, arguments: Mapping[str, Any], fields: Mapping[str, str]
    ) -> list[FieldProblem]:
        """Every violation, each naming the client's field; [] when the arguments are valid."""
        instance = to_json(dict(arguments))
        if self.quick_verdict(instance):
            return []
        found = [_problem(error, fields) for error in self._explain.iter_errors(instance)]
        return sorted(found, key=lambda p: p.field)

    def quick_verdict(self, instance: Any) -> bool | None:
        """The compiled check's answer for a JSON instance; None where it does not apply
        (no compiled check for this schema, or a value it could judge otherwise)."""
        if self._check is None or not _plain(instance):
            return None
        return bool(self._check.is_valid(instance))

    def explained_valid(self, instance: Any) -> bool:
        """jsonschema's answer for a JSON instance: the reference the quick one must match."""
        return bool(self._explain.is_valid(instance))


def _compiled(document: dict[str, Any]) -> Any:
    """jsonschema-rs's validator of the document, or None when it refuses it (a pattern its
    regex engine does not take): jsonschema alone checks that route then."""
    try:
        return jsonschema_rs.Draft202012Validator(document, validate_formats=False)
    except (ValueError, jsonschema_rs.ReferencingError) as exc:
        log.info("contract checked by jsonschema alone: %s", str(exc).splitlines()[0][:200])
        return None


def _plain(value: Any) -> bool:
    """True when both validators must judge `value` alike: JSON whose strings are printable
    ASCII, tab or CR, and whose numbers are 64-bit integers or finite floats."""
    if isinstance(value, str):
        return _PLAIN_TEXT.fullmatch(value) is not None
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int):
        return value in _INT64
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_plain(k) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(item) for item in value)
    return False


def _problem(error: ValidationError, fields: Mapping[str, str]) -> FieldProblem:
    error = _most_telling(error)
    path = [str(part) for part in error.absolute_path]
    message = error.message
    if error.validator == "required":
        missing = _REQUIRED.match(message)
        if missing:
            path.append(missing.group(1))
            message = "is required"
    if not path:
        return FieldProblem("request", message)
    where = fields.get(path[0], path[0])
    rest = "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in path[1:])
    return FieldProblem(where + rest, _short(message))


def _most_telling(error: ValidationError) -> ValidationError:
    """For "not valid under any of the given schemas", the branch that says why.

    Optional values are `anyOf: [<type>, null]`; the null branch's complaint tells nothing.
    """
    branches = [e for e in error.context or () if e.schema != {"type": "null"}]
    return _most_telling(branches[0]) if len(branches) == 1 else error


def _short(message: str) -> str:
    """jsonschema quotes whole values; long ones are cut so a problem stays readable."""
    return message if len(message) <= 300 else message[:297] + "..."
