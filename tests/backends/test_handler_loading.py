"""`new.handler` imports from the working directory, as `facade` run as a script needs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from facade.backends.handler import HandlerNotFound, load_handler


def test_a_handler_in_the_working_directory_imports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "rewritten_orders.py").write_text("def get_order(context):\n    return 1\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(Path.cwd()))])
    function = load_handler("rewritten_orders:get_order")
    assert function(None) == 1  # type: ignore[arg-type]
    assert str(tmp_path) in sys.path
    monkeypatch.delitem(sys.modules, "rewritten_orders")


def test_a_module_that_fails_to_import_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken_orders.py").write_text("raise RuntimeError('no database')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(HandlerNotFound, match="importing 'broken_orders' failed: RuntimeError"):
        load_handler("broken_orders:get_order")
