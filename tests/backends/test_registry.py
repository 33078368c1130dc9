"""open_backend: the scheme chooses the class; errors say what to use or install."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.backends import backend_class, open_backend
from agentrun_creds_plugin.backends.sqlite import SQLiteBackend
from agentrun_creds_plugin.settings import Settings


def test_sqlite_scheme_opens_the_embedded_backend(tmp_path: Path) -> None:
    backend = open_backend(f"sqlite:///{tmp_path / 'a.db'}", Settings())
    try:
        assert isinstance(backend, SQLiteBackend)
        assert backend.freshness == "checked"
    finally:
        backend.close()


@pytest.mark.parametrize("url", ["mysql://host/db", "nothing-here", "/tmp/x.db"])
def test_unknown_scheme_is_a_503_that_lists_the_choices(url: str) -> None:
    with pytest.raises(acp.StoreUnavailableError) as err:
        acp.CredentialStore.open(url, master_key=acp.generate_master_key())
    assert err.value.status_code == 503
    assert "sqlite:///" in str(err.value) and "postgresql://" in str(err.value)


def test_entry_point_backend_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A third-party backend registers a scheme through the entry-point group."""
    pkg = tmp_path / "memstore_demo.py"
    pkg.write_text(
        "from agentrun_creds_plugin.backends.sqlite import SQLiteBackend\n"
        "class Demo(SQLiteBackend):\n"
        "    @classmethod\n"
        "    def from_url(cls, url, settings):\n"
        "        return cls(url.split('://', 1)[1])\n"
    )
    dist = tmp_path / "memstore_demo-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: memstore-demo\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[agentrun_creds_plugin.backends]\ndemo = memstore_demo:Demo\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    cls = backend_class("demo")
    assert cls.__name__ == "Demo"
    with acp.CredentialStore.open(
        f"demo://{tmp_path / 'd.db'}", master_key=acp.generate_master_key()
    ) as s:
        s.create("k", acp.ApiKeyCredential(api_key="x" * 16))
        assert s.get("k").version == 1
    sys.modules.pop("memstore_demo", None)
