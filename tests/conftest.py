"""Shared test settings."""

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    """The tests' models are tiny: threads gain them nothing, and on a busy 2-core machine
    (CI runs here) threads that wait on each other made single tests up to 100x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
