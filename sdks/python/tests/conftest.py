"""Fixtures: a private home per test session (never the user's ~/.boxlite),
and the image every test boots (the built-in busybox)."""

import os
import shutil
import tempfile

import pytest

import boxlite

IMAGE = "localhost/busybox:latest"


@pytest.fixture(scope="session")
def home():
    d = tempfile.mkdtemp(prefix="boxlite-pytest.")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def runtime(home):
    return boxlite.Boxlite(boxlite.Options(home_dir=home))


@pytest.fixture
def image():
    return IMAGE
