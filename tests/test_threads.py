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
    monkeypatch.setattr(threads, "_blas_cap", None)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        cap_threads(3)
        assert torch.get_num_threads() == 2
        cap_threads(1)
        assert torch.get_num_threads() == 1
        with threadpool_limits(limits=None):  # restores the BLAS pools afterwards
            cap_threads(1, blas=True)
            assert blas_threads() <= {1} and threads._blas_cap == 1
    finally:
        torch.set_num_threads(before)
