"""Shared fixtures: the corpus, and a real WSGI server on 127.0.0.1."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from _support import serve_wsgi

from interop.corpus import corpus_dir, missing_reason


@pytest.fixture(scope="session")
def corpus_path():  # type: ignore[no-untyped-def]
    path = corpus_dir()
    if path is None:
        pytest.skip(missing_reason())
    return path


@pytest.fixture
def wsgi_server() -> Callable[..., contextlib.AbstractContextManager[str]]:
    """``with wsgi_server(app) as url: ...`` — a real HTTP server for the test."""
    return serve_wsgi
