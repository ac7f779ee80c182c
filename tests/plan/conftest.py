"""Fixtures for the planner tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from plankit import GOLDEN


@pytest.fixture
def project(tmp_path) -> Path:
    target = tmp_path / "p"
    shutil.copytree(GOLDEN, target)
    return target / "storyboard.yaml"
