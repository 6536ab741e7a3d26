"""Secrets named in mapping files: `${VAR}` or `file:PATH`, read once at load.

A mapping never holds a secret itself (the models refuse one written literally), so the
files can be committed. The value read is wrapped in `Secret`, whose repr and str hide it:
a route, a log record or an error message that shows a binding shows `Secret('***')`.

    password = resolve("file:secrets/crm-password", env, base=Path("mappings/customers"))
    password.reveal()   # the text, only where it is sent
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

FILE_PREFIX = "file:"
MAX_SECRET_BYTES = 64 * 1024
"""A secret file larger than 64 KiB is a wrong path, not a password."""


class Secret:
    """A credential that never shows itself; compare with `reveal()` where it is used."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        # routes cross to the translator process; the value goes with them, never into text
        return (Secret, (self._value,))


class SecretUnavailable(LookupError):
    """The reference names a variable that is not set or a file that cannot be read."""


def resolve(reference: str, env: Mapping[str, str], base: Path) -> Secret:
    """The secret a `${VAR}` or `file:PATH` reference names (PATH relative to `base`)."""
    if reference.startswith(FILE_PREFIX):
        return Secret(_read_file(base / reference.removeprefix(FILE_PREFIX)))
    name = reference.removeprefix("${").removesuffix("}")
    value = env.get(name)
    if not value:
        raise SecretUnavailable(f"environment variable {name} is not set (or is empty)")
    return Secret(value)


def _read_file(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_SECRET_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SecretUnavailable(f"cannot read {path}: {reason}") from exc
    if len(data) > MAX_SECRET_BYTES:
        raise SecretUnavailable(f"{path} is larger than {MAX_SECRET_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SecretUnavailable(f"{path} is not UTF-8 text") from exc
    text = text.removesuffix("\n").removesuffix("\r")
    if not text:
        raise SecretUnavailable(f"{path} is empty")
    return text
