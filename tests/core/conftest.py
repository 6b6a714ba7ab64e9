"""Fixtures of the core tests."""

from __future__ import annotations

import subprocess

import pytest


@pytest.fixture
def gone_pid():
    """The pid of a process that has ended, as a killed run's would be."""
    proc = subprocess.Popen(["true"])                 # noqa: S607
    proc.wait()
    return proc.pid
