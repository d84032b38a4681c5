"""One torch thread per test: under pytest-xdist two workers share two cores, and OpenMP threads
spinning for a core another worker holds make small conv layers many times slower."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
