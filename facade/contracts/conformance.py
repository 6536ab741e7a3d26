"""Does an answer keep the route's documented response schema?

The new side promises the contract the legacy side's WSDL gave the route. Its answers are
checked here; what to do with a violation (count it, log it, still send the answer) is the
caller's choice.

    conformance = ResponseConformance(contract.response, contracts.components)
    conformance.violations({"id": "seven"})   # (Violation("/id", "... not of type ..."),)
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

MAX_VIOLATIONS = 10
"""At most 10 violations are reported per answer: enough to fix it, little to log."""


@dataclass(frozen=True)
class Violation:
    """One place where an answer breaks the schema, as a JSON pointer into the answer."""

    pointer: str
    message: str


class ResponseConformance:
    """Checks answers against one route's response schema (with its shared components)."""

    def __init__(self, schema: Mapping[str, Any], components: Mapping[str, Any]) -> None:
        document = {**schema, "components": {"schemas": dict(components)}}
        self._validator = Draft202012Validator(document)

    def violations(self, answer: Any) -> tuple[Violation, ...]:
        """The first violations found (at most MAX_VIOLATIONS), by pointer."""
        errors = itertools.islice(self._validator.iter_errors(answer), MAX_VIOLATIONS)
        found = (Violation(_pointer(e.absolute_path), _message(e)) for e in errors)
        return tuple(sorted(found, key=lambda v: v.pointer))


def _pointer(path: Any) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _message(error: ValidationError) -> str:
    """What the schema wants, never the value that broke it: jsonschema's own message
    quotes the whole value, which may hold a password or a card number, and these
    messages go to logs and to recorded shadow diffs."""
    if error.validator == "required":
        return _short(error.message)  # names the missing property only
    return _short(f"breaks {error.validator}: {error.validator_value!r}")


def _short(message: str) -> str:
    """jsonschema quotes whole values; a long one is cut so that a log line stays readable."""
    return message if len(message) <= 200 else message[:197] + "..."
