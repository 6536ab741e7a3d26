"""Each WSDL a mapping names, loaded once and shared by every route that uses it."""

from __future__ import annotations

from pathlib import Path

import yaml

from facade.errors import ConfigError, ConfigProblem
from facade.soap.loader import LoadedWsdl, load_wsdl

CATALOG_FILE = "catalog.yaml"


class WsdlRegistry:
    """Loads WSDLs from one folder on first use and keeps them.

    registry = WsdlRegistry(Path("wsdl"))
    crm = registry.get("crm.wsdl")   # ConfigError if it cannot be loaded
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._loaded: dict[str, LoadedWsdl] = {}
        self._failed: dict[str, ConfigError] = {}
        self._catalog: dict[str, Path] | None = None

    def get(self, name: str) -> LoadedWsdl:
        if name in self._loaded:
            return self._loaded[name]
        if name in self._failed:
            raise self._failed[name]
        try:
            loaded = load_wsdl(self._path(name), self.catalog())
        except ConfigError as exc:
            self._failed[name] = exc
            raise
        self._loaded[name] = loaded
        return loaded

    @property
    def loaded(self) -> dict[str, LoadedWsdl]:
        return dict(self._loaded)

    def catalog(self) -> dict[str, Path]:
        """`wsdl/catalog.yaml`: remote schema URL -> local file, relative to the folder."""
        if self._catalog is None:
            self._catalog = _read_catalog(self.directory / CATALOG_FILE)
        return self._catalog

    def _path(self, name: str) -> Path:
        path = (self.directory / name).resolve()
        if not path.is_relative_to(self.directory.resolve()):
            raise _problem(name, f"must be a file inside {self.directory}")
        if not path.is_file():
            available = ", ".join(sorted(p.name for p in self.directory.glob("*.wsdl"))) or "none"
            raise _problem(name, f"is not a file in {self.directory} (available: {available})")
        return path


def _read_catalog(path: Path) -> dict[str, Path]:
    if not path.is_file():
        return {}
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError([ConfigProblem(str(path), "", f"is not valid YAML: {exc}")]) from exc
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise ConfigError(
            [ConfigProblem(str(path), "", "must map each remote URL to a local file name")]
        )
    return {str(url): (path.parent / local).resolve() for url, local in raw.items()}


def _problem(name: str, message: str) -> ConfigError:
    return ConfigError([ConfigProblem("", "legacy.wsdl", f"{name!r} {message}")])
