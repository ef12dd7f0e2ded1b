"""Native thread limits: one context manager for a block, one process-wide cap."""

import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from seglib import threads
from seglib.threads import cap_threads, limit_threads


def blas_threads():
    return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}


def test_limit_threads_sets_torch_and_blas_inside_the_block_and_restores_them():
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with threadpool_limits(limits=2, user_api="blas"):
            with limit_threads(1):
                assert torch.get_num_threads() == 1
                assert blas_threads() <= {1}
            assert torch.get_num_threads() == 2
            with limit_threads(1, blas=False):
                assert torch.get_num_threads() == 1 and blas_threads() <= {2}
            with limit_threads(1, torch=False):
                assert torch.get_num_threads() == 2 and blas_threads() <= {1}
            with pytest.raises(RuntimeError, match="inside"):
                with limit_threads(1):
                    raise RuntimeError("inside")
            assert torch.get_num_threads() == 2, "restored after an error too"
    finally:
        torch.set_num_threads(before)


def test_cap_threads_only_lowers_torch_and_caps_blas_once(monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(threads, "_caps", {})
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        cap_threads(3)
        assert torch.get_num_threads() == 2
        cap_threads(1)
        assert torch.get_num_threads() == 1
        with threadpool_limits(limits=None):  # restores the BLAS pools afterwards
            cap_threads(1, blas=True)
            assert blas_threads() <= {1} and threads._caps[None][0] == 1
    finally:
        torch.set_num_threads(before)


def test_limit_threads_finds_the_libraries_once_and_again_after_an_import(monkeypatch):
    import sys
    import types

    with limit_threads(1, torch=False):
        pass
    controller = threads._blas_controller()
    with limit_threads(1, torch=False):
        assert threads._blas_controller() is controller  # nothing imported since: no new scan of libraries
    monkeypatch.setitem(sys.modules, "newly_imported", types.ModuleType("newly_imported"))
    with threadpool_limits(limits=2, user_api="blas"):
        with limit_threads(1, torch=False):
            assert threads._blas_controller() is not controller  # it may have brought a BLAS of its own
            assert blas_threads() <= {1}
        assert blas_threads() <= {2}


def test_cap_blas_keeps_blas_on_one_thread_and_looks_again_after_an_import(monkeypatch):
    import sys
    import types

    monkeypatch.setattr(threads, "_caps", {})
    with threadpool_limits(limits=None):  # restores the BLAS pools afterwards
        threadpool_limits(limits=2, user_api="blas")
        threads.cap_blas(1)
        assert blas_threads() <= {1}
        threadpool_limits(limits=2, user_api="blas")  # as a library loaded since would start
        threads.cap_blas(1)
        assert blas_threads() <= {2}, "nothing imported since: the libraries are not looked at again"
        monkeypatch.setitem(sys.modules, "newly_imported", types.ModuleType("newly_imported"))
        threads.cap_blas(1)
        assert blas_threads() <= {1}
