"""Compiling and fingerprinting the mapping and WSDL folders."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import pytest

from facade import sources
from facade.backends import translator
from facade.errors import ConfigError
from facade.settings import Settings
from facade.sources import build_from_folders, compile_folders, fingerprint

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    mappings, wsdl = tmp_path / "mappings", tmp_path / "wsdl"
    mappings.mkdir()
    shutil.copy(ROOT / "mappings/customers/get-customer.yaml", mappings)
    shutil.copytree(ROOT / "wsdl", wsdl)
    return mappings, wsdl


def test_the_fingerprint_follows_mapping_and_wsdl_bytes(folders: tuple[Path, Path]) -> None:
    mappings, wsdl = folders
    first = fingerprint(mappings, wsdl)
    assert fingerprint(mappings, wsdl) == first
    (mappings / "notes.txt").write_text("not a mapping", encoding="utf-8")
    assert fingerprint(mappings, wsdl) == first  # only mapping files count there
    (wsdl / "extra.xsd").write_text("<schema/>", encoding="utf-8")
    second = fingerprint(mappings, wsdl)
    assert second != first  # anything in the WSDL folder may be imported
    (mappings / "get-customer.yaml").write_text(
        (mappings / "get-customer.yaml").read_text() + "\n# a comment\n", encoding="utf-8"
    )
    assert fingerprint(mappings, wsdl) != second


def test_a_build_names_its_files_version_and_route_revisions(
    folders: tuple[Path, Path],
) -> None:
    mappings, wsdl = folders
    built = build_from_folders(mappings, wsdl)
    assert built.version == fingerprint(mappings, wsdl)
    assert list(built.revisions) == ["get-customer"]
    assert built.registry.loaded.keys() == {"crm.wsdl"}


def test_files_that_keep_changing_during_the_build_are_refused(
    folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    mappings, wsdl = folders
    counter = itertools.count()
    monkeypatch.setattr(sources, "fingerprint", lambda *folders: str(next(counter)))
    with pytest.raises(ConfigError) as caught:
        build_from_folders(mappings, wsdl)
    [problem] = caught.value.problems
    assert problem.file == str(mappings)
    assert "kept changing" in problem.message


def test_a_missing_wsdl_folder_is_reported_with_the_mapping_problems(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        compile_folders(tmp_path / "none", tmp_path / "gone")
    files = [problem.file for problem in caught.value.problems]
    assert files == [str(tmp_path / "none"), str(tmp_path / "gone")]


def test_a_child_that_saw_the_files_change_claims_no_version(
    folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The translator process loads the folders itself; when they changed under it, it
    does not know which configuration it holds, and the server translates on its loop."""
    mappings, wsdl = folders
    settings = Settings(mappings_dir=mappings, wsdl_dir=wsdl)
    translator._load(settings)
    assert translator._ready() == fingerprint(mappings, wsdl)
    counter = itertools.count()
    monkeypatch.setattr(sources, "fingerprint", lambda *folders: str(next(counter)))
    translator._load(settings)
    assert translator._ready() is None
