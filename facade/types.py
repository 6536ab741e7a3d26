"""The vocabulary every module speaks. Aliases only, no logic."""

from typing import Any, Literal, TypeAlias

RouteName: TypeAlias = str
Mode: TypeAlias = Literal["legacy", "shadow", "canary", "new"]
Side: TypeAlias = Literal["legacy", "new"]
ServedBy: TypeAlias = Literal["legacy", "new", "legacy-fallback"]
"""Who answered: a side, or legacy standing in after the new side failed
(`X-Facade-Backend`, metrics and logs)."""
JSON: TypeAlias = Any
"""A value that orjson can encode: dict, list, str, int, float, bool or None."""
Principal: TypeAlias = dict[str, Any] | None
"""Who made the request, once authentication exists; None for anonymous."""
Headers: TypeAlias = dict[str, str]
ReadyAnswer: TypeAlias = tuple[int, list[tuple[bytes, bytes]], bytes]
"""A whole answer made without awaiting anything: status, header lines (lower-case names,
Content-Length included) and body (sent even to a HEAD, which the server drops)."""
