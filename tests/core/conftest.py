"""Fixtures of the core tests."""
import pytest
import torch


@pytest.fixture
def one_torch_thread():
    """Tiny models run fastest single-threaded; extra threads only contend on a shared CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
