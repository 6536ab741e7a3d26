"""Check coerced arguments against the operation's input schema (derived from the XSD), so
enumerations, patterns, lengths and ranges are enforced before any backend call."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from facade.errors import FieldProblem, InvalidRequest
from facade.translate.response import to_json

_REQUIRED = re.compile(r"^'(.+)' is a required property$")


class ArgumentValidator:
    """Validates the arguments of one operation; problems name the client's fields.

    validator = ArgumentValidator(input_schema, components)
    validator.check(arguments, {"CustomerId": "path.id"})
    """

    def __init__(self, schema: dict[str, Any], components: Mapping[str, Any]) -> None:
        document = {**schema, "components": {"schemas": dict(components)}}
        self._validator = Draft202012Validator(document)

    def check(self, arguments: Mapping[str, Any], fields: Mapping[str, str]) -> None:
        """Raise InvalidRequest listing every violation; `fields` maps argument -> client field."""
        problems = self.problems(arguments, fields)
        if problems:
            raise InvalidRequest(problems)

    def problems(
        self, arguments: Mapping[str, Any], fields: Mapping[str, str]
    ) -> list[FieldProblem]:
        instance = to_json(dict(arguments))
        found = [_problem(error, fields) for error in self._validator.iter_errors(instance)]
        return sorted(found, key=lambda p: p.field)


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
