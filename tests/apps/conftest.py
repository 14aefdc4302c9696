"""Fixtures shared by the apps tests: the built images and a running Compose stack."""

from __future__ import annotations

import os

import pytest

from docker2k8s import images

from .compose import start_stack


@pytest.fixture(scope="session")
def app_images() -> list[str]:
    """Build (or reuse, when up to date) base + the four app images."""
    images.build_images()
    refs = images.built_images()
    assert refs == images.image_refs(), f"missing images: {set(images.image_refs()) - set(refs)}"
    return refs


@pytest.fixture(scope="session")
def compose_stack(app_images):
    project = f"d2ktest{os.getpid()}"
    stack = start_stack(project)
    try:
        yield stack
    finally:
        stack.run("down", "-v", "--remove-orphans", check=False)
