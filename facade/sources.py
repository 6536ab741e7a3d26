"""The folders a configuration is built from, compiled and fingerprinted.

    built = build_from_folders(Path("mappings"), Path("wsdl"))   # ConfigError: every problem
    built.table, built.version, built.revisions["get-customer"]

`facade check`, `facade serve` and a reload all compile the folders here, so a reload
refuses exactly what `facade check` refuses. The fingerprint is a digest of the files'
bytes: two processes that compiled the same fingerprint compiled the same configuration
(the translator process uses it to never translate with another one).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from facade.config.loader import FacadeConfig, with_legacy_defaults
from facade.errors import ConfigError, ConfigProblem
from facade.mapping.loader import discover, read_mappings
from facade.routetable import RouteTable, build_route_table
from facade.soap.registry import WsdlRegistry
from facade.types import RouteName

STABLE_ATTEMPTS = 3
"""Times a build is retried when the files changed while it read them."""


@dataclass(frozen=True)
class Built:
    """A route table with the WSDLs it was compiled from and the digests of its files."""

    table: RouteTable
    registry: WsdlRegistry
    version: str
    revisions: dict[RouteName, str]


def compile_folders(
    mappings: Path,
    wsdl: Path,
    registry: WsdlRegistry | None = None,
    config: FacadeConfig | None = None,
) -> RouteTable:
    """The route table of two folders, or ConfigError with every problem of every file;
    routes without credentials of their own take their WSDL's from `config`."""
    loaded = read_mappings(mappings)
    problems = list(loaded.problems)
    if not wsdl.is_dir():
        problems.append(ConfigProblem(str(wsdl), "", "the WSDL folder does not exist (see --wsdl)"))
        raise ConfigError(problems)
    try:
        routes = with_legacy_defaults(loaded.routes, config or FacadeConfig())
        table = build_route_table(routes, registry or WsdlRegistry(wsdl))
    except ConfigError as exc:
        problems += exc.problems
    if problems:
        raise ConfigError(problems)
    return table


def build_from_folders(mappings: Path, wsdl: Path, config: FacadeConfig | None = None) -> Built:
    """Compile the folders with a fresh WSDL registry (so edited WSDLs are read again),
    with the settings file's per-WSDL credentials.

    The files are fingerprinted before and after compiling; when they changed in between
    (an editor still writing, a checkout under way), the build is done again, so the
    version always names the files the table was compiled from.
    """
    for _ in range(STABLE_ATTEMPTS):
        before = fingerprint(mappings, wsdl)
        registry = WsdlRegistry(wsdl)
        table = compile_folders(mappings, wsdl, registry, config)
        if fingerprint(mappings, wsdl) == before:
            return Built(table, registry, before, revisions(table, _wsdl_digest(wsdl)))
    message = f"kept changing during {STABLE_ATTEMPTS} builds; reload when the writing is done"
    raise ConfigError([ConfigProblem(str(mappings), "", message)])


def fingerprint(mappings: Path, wsdl: Path) -> str:
    """A digest of every mapping file and every file of the WSDL folder, names and bytes."""
    digest = hashlib.sha256()
    files = discover(mappings) if mappings.is_dir() else []
    for path in files:
        _add(digest, mappings, path)
    digest.update(b"\0wsdl\0" + _wsdl_digest(wsdl).encode())
    return digest.hexdigest()


def revisions(table: RouteTable, wsdl_digest: str) -> dict[RouteName, str]:
    """Per route, a digest of its expanded mapping and of the WSDL folder: what decides
    how the route answers. Compared across a reload, it tells changed routes apart."""
    return {
        route.name: hashlib.sha256(f"{route.mapping!r}\0{wsdl_digest}".encode()).hexdigest()[:16]
        for route in table
    }


def _wsdl_digest(wsdl: Path) -> str:
    digest = hashlib.sha256()
    files = sorted(p for p in wsdl.rglob("*") if p.is_file()) if wsdl.is_dir() else []
    for path in files:
        _add(digest, wsdl, path)
    return digest.hexdigest()


def _add(digest: hashlib._Hash, root: Path, path: Path) -> None:
    try:
        content = path.read_bytes()
    except OSError:  # removed between the listing and the read: the next build sees it
        content = b"\0unreadable\0"
    digest.update(str(path.relative_to(root)).encode() + b"\0" + content + b"\0")
