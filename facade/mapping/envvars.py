"""`${VAR}` and `${VAR:-default}` expansion in the string values of a mapping file.

Expansion runs on parsed values, never on YAML text, so a variable's content cannot change
the structure of the file. `$${` writes a literal `${`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_REFERENCE = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class MissingVariable(LookupError):
    def __init__(self, name: str, where: str) -> None:
        self.name = name
        self.where = where
        super().__init__(
            f"environment variable {name} is not set (set it, or give a default: "
            f"${{{name}:-value}})"
        )


def expand(
    value: Any, env: Mapping[str, str], where: str = "", verbatim: frozenset[str] = frozenset()
) -> Any:
    """Return `value` with every reference in its strings replaced; dict keys stay as written.

    Strings at the dotted places in `verbatim` stay as written: secret references are read
    by `facade.mapping.secrets`, so the check that a secret is not written literally sees
    the reference and a secret's own `${` is never expanded."""
    if where in verbatim:
        return value
    if isinstance(value, str):
        return _expand_string(value, env, where)
    if isinstance(value, dict):
        return {k: expand(v, env, _join(where, str(k)), verbatim) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v, env, _join(where, str(i)), verbatim) for i, v in enumerate(value)]
    return value


def _expand_string(text: str, env: Mapping[str, str], where: str) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise MissingVariable(name, where)

    return _REFERENCE.sub(replace, text)


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key
