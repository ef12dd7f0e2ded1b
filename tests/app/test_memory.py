"""ui.memory: objects alive after new imports are frozen once, not on every run."""

import gc
import sys
import types

from ui import memory


def test_freezes_after_new_imports_and_not_again_without_them(monkeypatch):
    monkeypatch.setattr(memory, "_frozen_at", 0)
    try:
        assert memory.freeze_imports()
        frozen = gc.get_freeze_count()
        assert frozen > 0
        assert not memory.freeze_imports()  # nothing imported since
        for i in range(memory.NEW_MODULES):
            monkeypatch.setitem(sys.modules, f"_memory_test_module_{i}", types.ModuleType(f"m{i}"))
        assert memory.freeze_imports()
        assert gc.get_freeze_count() >= frozen
    finally:
        gc.unfreeze()


def test_the_app_runs_without_a_full_collection_after_every_run():
    import tomllib
    from pathlib import Path

    config = tomllib.loads((Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False  # a third of a move's CPU with 30 sessions open
