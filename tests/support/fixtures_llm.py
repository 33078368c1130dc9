"""Pytest fixtures for the loopback LLM and third-party API servers.

Register them for the whole suite with ``pytest_plugins = ["tests.support.fixtures_llm"]``
in ``tests/conftest.py`` (or in a single test module).

Fixtures:

* ``loopback_env`` -- removes ``*_PROXY`` variables and sets ``NO_PROXY`` for loopback
  (all server fixtures below use it).
* ``llm_server`` -- a running :class:`LLMServer` (HTTP) accepting :data:`TEST_KEYS`.
* ``tls_pki`` (session) -- a CA + 127.0.0.1/localhost server certificate (:class:`TestPKI`).
* ``https_llm_server`` -- like ``llm_server`` but HTTPS with ``tls_pki``.
* ``api_server`` -- a running HTTP :class:`ApiServer` that accepts everything until the
  test sets ``api_server.check``.
* ``https_api_server`` -- the same over HTTPS with ``tls_pki`` (trust ``.ca_pem_path``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.api_server import ApiServer
from tests.support.certs import TestPKI, make_test_pki
from tests.support.llm_server import (
    TEST_ANTHROPIC_KEY,
    TEST_AZURE_KEY,
    TEST_KEYS,
    TEST_OPENAI_KEY,
    LLMServer,
)

__all__ = [
    "TEST_ANTHROPIC_KEY",
    "TEST_AZURE_KEY",
    "TEST_KEYS",
    "TEST_OPENAI_KEY",
    "api_server",
    "https_api_server",
    "https_llm_server",
    "llm_server",
    "loopback_env",
    "tls_pki",
]


_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture
def loopback_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make sure no proxy from the environment intercepts requests to 127.0.0.1."""
    for name in _PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost,::1")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost,::1")


@pytest.fixture
def llm_server(loopback_env: None) -> Iterator[LLMServer]:
    with LLMServer(accepted_keys=TEST_KEYS) as server:
        yield server


@pytest.fixture(scope="session")
def tls_pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return make_test_pki(tmp_path_factory.mktemp("test-pki"))


@pytest.fixture
def https_llm_server(loopback_env: None, tls_pki: TestPKI) -> Iterator[LLMServer]:
    with LLMServer(accepted_keys=TEST_KEYS, tls=tls_pki) as server:
        yield server


@pytest.fixture
def api_server(loopback_env: None) -> Iterator[ApiServer]:
    with ApiServer() as server:
        yield server


@pytest.fixture
def https_api_server(loopback_env: None, tls_pki: TestPKI) -> Iterator[ApiServer]:
    with ApiServer(tls=tls_pki) as server:
        yield server
