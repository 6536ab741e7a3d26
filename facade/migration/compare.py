"""Two answers to one request, compared: the list of places where they differ.

Pure functions over plain values; the shadow runner and its tests call them.

Paths name places in a JSON answer, as `compare.ignore` and `compare.sort` write them:

    updatedAt            the field updatedAt of the top-level object
    customer.address     dotted names walk into nested objects
    lines[*].etag        [*] stands for every item of an array
    [*].id               the id of every item of a top-level array
    $                    the whole answer (sort: {$: id} sorts a top-level array)

A path covers everything below it: ignoring `audit` ignores `audit.by` too. A difference is
reported at a concrete path, where an index replaces each [*]: `lines[2].etag`; `$` is the
whole answer, `(status)` the HTTP status, and `(contract)/lines/2` a place where the new
side's answer breaks the route's documented response (its message as the new value).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import orjson

from facade.types import JSON

ANY_ITEM = "*"
STATUS = "(status)"
CONTRACT = "(contract)"
ROOT = "$"

_STEP = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*|\[\*\]")
_DECIMAL = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")

Step = str | int
"""A name in an object, an index in an array, or ANY_ITEM in a pattern."""
Pattern = tuple[str, ...]
Place = tuple[Step, ...]


class PathSyntaxError(ValueError):
    """A path that is not dotted names and [*]."""


@dataclass(frozen=True)
class Answer:
    """What one side answered: the status, and the JSON body (None when it had none)."""

    status: int
    body: JSON = None
    violations: tuple[tuple[str, str], ...] = ()
    """(JSON pointer, message) where the answer breaks the route's documented response."""
    too_large: bool = False
    """The answer is too large to compare on the event loop; `body` was not decoded."""


@dataclass(frozen=True)
class Difference:
    """One place where the two answers differ."""

    path: str
    legacy: JSON
    new: JSON


@dataclass(frozen=True)
class Rules:
    """How two answers are compared: places ignored, arrays sorted by a key before."""

    ignore: tuple[Pattern, ...] = ()
    sort: tuple[tuple[Pattern, str], ...] = ()

    @classmethod
    def parse(cls, ignore: Iterable[str] = (), sort: Iterable[tuple[str, str]] = ()) -> Rules:
        """Rules from the mapping's text: `Rules.parse(["updatedAt"], [("lines", "sku")])`."""
        by_key = tuple((parse_path(path), key) for path, key in sort)
        return cls(tuple(parse_path(path) for path in ignore), by_key)


def parse_path(text: str) -> Pattern:
    """`lines[*].etag` -> ("lines", "*", "etag"); PathSyntaxError says what is wrong."""
    if text == ROOT:
        return ()
    steps: list[str] = []
    position = 0
    while position < len(text):
        if steps and text[position] == ".":
            position += 1
        match = _STEP.match(text, position)
        if match is None:
            raise PathSyntaxError(
                f"{text!r}: expected a name or [*] at position {position} "
                "(write dotted names and [*], like lines[*].etag)"
            )
        steps.append(ANY_ITEM if match.group() == "[*]" else match.group())
        position = match.end()
    if not steps:
        raise PathSyntaxError("an empty path names nothing")
    return tuple(steps)


def compare(legacy: Answer, new: Answer, rules: Rules = Rules()) -> list[Difference]:
    """Where `new` differs from `legacy`, ignored places left out: the status first, then
    the bodies (arrays sorted as the rules say, decimal strings equal to their number)."""
    found = [Difference(STATUS, legacy.status, new.status)] if legacy.status != new.status else []
    left, right = normalise(legacy.body, rules), normalise(new.body, rules)
    found += [
        Difference(render(place), a, b)
        for place, a, b in differences(left, right)
        if not covered(place, rules.ignore)
    ]
    found += [Difference(f"{CONTRACT}{pointer}", None, text) for pointer, text in new.violations]
    return found


def noise(first: Answer, second: Answer, rules: Rules = Rules()) -> tuple[str, ...]:
    """Paths where two answers of the same side differ (timestamps, ids): the baseline
    ignored when that side is compared with the other."""
    left, right = normalise(first.body, rules), normalise(second.body, rules)
    found = [render(place) for place, _, _ in differences(left, right)]
    return (STATUS, *found) if first.status != second.status else tuple(found)


def without(found: Sequence[Difference], ignored: Iterable[str]) -> list[Difference]:
    """The differences at none of the ignored paths nor below them (a baseline's noise)."""
    paths = tuple(ignored)
    return [d for d in found if not any(_under(d.path, path) for path in paths)]


def differences(legacy: JSON, new: JSON, place: Place = ()) -> Iterator[tuple[Place, JSON, JSON]]:
    """Every innermost place where the two values differ, in document order."""
    if isinstance(legacy, dict) and isinstance(new, dict):
        for key in [*legacy, *(k for k in new if k not in legacy)]:
            yield from differences(legacy.get(key), new.get(key), (*place, key))
    elif isinstance(legacy, list) and isinstance(new, list) and len(legacy) == len(new):
        for index, (a, b) in enumerate(zip(legacy, new, strict=True)):
            yield from differences(a, b, (*place, index))
    elif not same_value(legacy, new):
        yield place, legacy, new


def same_value(legacy: JSON, new: JSON) -> bool:
    """Equal as JSON, where a decimal string equals the number it spells ("45.50" == 45.5);
    two strings are compared as written, so "007" is not "7"."""
    if isinstance(legacy, str) and isinstance(new, str):
        return legacy == new
    a, b = _number(legacy), _number(new)
    if a is not None and b is not None:
        return a == b
    return type(legacy) is type(new) and legacy == new


def normalise(value: JSON, rules: Rules) -> JSON:
    """`value` with the arrays the rules name sorted by their key."""
    for pattern, key in rules.sort:
        value = _sorted_at(value, pattern, key)
    return value


def covered(place: Place, patterns: Iterable[Pattern]) -> bool:
    """True when a pattern names `place` or a place above it."""
    return any(_matches(pattern, place) for pattern in patterns)


def render(place: Sequence[Step]) -> str:
    """("lines", 2, "etag") -> "lines[2].etag"; the empty place is ROOT."""
    text = ""
    for step in place:
        if isinstance(step, int) or step == ANY_ITEM:
            text += f"[{step}]"
        else:
            text += f".{step}" if text else str(step)
    return text or ROOT


def _under(path: str, place: str) -> bool:
    return path == place or place == ROOT or path.startswith((f"{place}.", f"{place}["))


def _matches(pattern: Pattern, place: Place) -> bool:
    if len(pattern) > len(place):
        return False
    for want, step in zip(pattern, place, strict=False):
        if want == ANY_ITEM:
            if not isinstance(step, int):
                return False
        elif want != step:
            return False
    return True


def _number(value: JSON) -> Decimal | None:
    """The exact number a JSON number or decimal string stands for; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if isinstance(value, str) and _DECIMAL.match(value):
        try:
            return Decimal(value)
        except InvalidOperation:
            return None
    return None


def _sorted_at(value: JSON, pattern: Pattern, key: str) -> JSON:
    """A copy of `value` where the array(s) at `pattern` are sorted by each item's `key`."""
    if not pattern:
        if isinstance(value, list):
            return sorted(value, key=lambda item: _order(item, key))
        return value
    step, rest = pattern[0], pattern[1:]
    if step == ANY_ITEM and isinstance(value, list):
        return [_sorted_at(item, rest, key) for item in value]
    if isinstance(value, dict) and step in value:
        return {**value, step: _sorted_at(value[step], rest, key)}
    return value


def _order(item: JSON, key: str) -> tuple[int, Decimal | str]:
    """A total order over items: numbers (and decimal strings) by value, then the rest by
    their JSON text, so both sides sort the same however they spell a number."""
    value = item.get(key) if isinstance(item, dict) else item
    number = _number(value)
    if number is not None:
        return (0, number)
    return (1, orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode())
