"""What shadow comparisons found, per route, in this worker: counts and recent differences.

    records = ShadowRecords()
    records.compared("get-customer", diffs, "req-1", redact=("pin",))
    records.snapshot()["get-customer"]["mismatches"]   # 1

Values of sensitive fields never enter a sample: a field whose name contains one of
SENSITIVE_NAMES (case and `_`/`-` ignored: `accessToken`, `card_number`), or one the
route lists in `compare.redact`, is shown as REDACTED, and so is everything inside it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from facade.migration.compare import Difference
from facade.types import JSON, RouteName

Result = Literal["match", "mismatch", "error", "skipped"]
SAMPLE_SIZE = 20
"""Recent differences kept per route."""
SENSITIVE_NAMES = (
    *("password", "passwd", "token", "secret", "authorization", "cookie", "apikey"),
    *("ssn", "iban", "card", "cvv"),
    *("email", "phone", "birth", "address"),  # personal data shows in diffs too
)
REDACTED = "[redacted]"


@dataclass
class RouteRecord:
    """One route's figures since the worker started."""

    comparisons: int = 0
    matches: int = 0
    mismatches: int = 0
    legacy_errors: int = 0
    new_errors: int = 0
    drops: int = 0
    skipped: int = 0
    """Answers too large to compare on the event loop (over 64 KiB of JSON)."""
    recent: deque[dict[str, JSON]] = field(default_factory=lambda: deque(maxlen=SAMPLE_SIZE))

    def as_dict(self) -> dict[str, Any]:
        return {
            "comparisons": self.comparisons,
            "matches": self.matches,
            "mismatches": self.mismatches,
            "errors": {"legacy": self.legacy_errors, "new": self.new_errors},
            "drops": self.drops,
            "skipped": self.skipped,
            "recent_diffs": list(self.recent),
        }


class ShadowRecords:
    """Per-route shadow figures of one worker, for the admin API to read."""

    def __init__(self) -> None:
        self._routes: dict[RouteName, RouteRecord] = {}

    def route(self, name: RouteName) -> RouteRecord:
        return self._routes.setdefault(name, RouteRecord())

    def compared(
        self,
        name: RouteName,
        diffs: Sequence[Difference],
        request_id: str,
        redact: Iterable[str] = (),
    ) -> Result:
        """Count one comparison; keep its differences, sensitive values hidden."""
        record = self.route(name)
        record.comparisons += 1
        if not diffs:
            record.matches += 1
            return "match"
        record.mismatches += 1
        names = _names(redact)
        for diff in diffs[-SAMPLE_SIZE:]:  # only these are kept: redact no more
            record.recent.append(_sample(diff, request_id, names))
        return "mismatch"

    def skipped(self, name: RouteName) -> Result:
        """Count a shadow whose answers were too large to compare without holding the loop."""
        self.route(name).skipped += 1
        return "skipped"

    def failed(self, name: RouteName, side: Literal["legacy", "new"]) -> Result:
        """Count a comparison that could not be made because one side failed."""
        record = self.route(name)
        record.comparisons += 1
        if side == "legacy":
            record.legacy_errors += 1
        else:
            record.new_errors += 1
        return "error"

    def dropped(self, name: RouteName) -> None:
        self.route(name).drops += 1

    def snapshot(self) -> dict[RouteName, dict[str, Any]]:
        """Every route's figures as plain JSON values: a copy, safe to hand out."""
        return {name: record.as_dict() for name, record in sorted(self._routes.items())}


def redacted(path: str, value: JSON, names: frozenset[str]) -> JSON:
    """`value` as it may be shown: REDACTED when its place or a field inside it is sensitive."""
    if any(_sensitive(step, names) for step in _steps(path)):
        return REDACTED
    return _hide_inside(value, names)


def _sample(diff: Difference, request_id: str, names: frozenset[str]) -> dict[str, JSON]:
    return {
        "path": diff.path,
        "legacy": redacted(diff.path, diff.legacy, names),
        "new": redacted(diff.path, diff.new, names),
        "request_id": request_id,
    }


def _hide_inside(value: JSON, names: frozenset[str]) -> JSON:
    if isinstance(value, dict):
        return {
            key: REDACTED if _sensitive(key, names) else _hide_inside(item, names)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_hide_inside(item, names) for item in value]
    return value


def _names(extra: Iterable[str]) -> frozenset[str]:
    return frozenset(_plain(name) for name in (*SENSITIVE_NAMES, *extra))


def _sensitive(name: str, names: frozenset[str]) -> bool:
    plain = _plain(name)
    return any(sensitive in plain for sensitive in names)


def _plain(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


def _steps(path: str) -> list[str]:
    """The names along a reported path such as `lines[2].etag` (indices are harmless)."""
    return path.replace("[", ".").replace("]", "").split(".")
