from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.actions.support import World, world


@pytest.fixture
def w(tmp_path: Path) -> Iterator[World]:
    yield from world(tmp_path)
