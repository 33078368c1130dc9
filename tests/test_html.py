"""Notebook HTML (``_repr_html_``) of credentials, lists, models, attachments and audit events:
masked, escaped, and never holding a secret."""

from __future__ import annotations

import agentrun_creds_plugin as acp


def test_html_tables_hold_no_secret(store: acp.CredentialStore, canary: str) -> None:
    key = "sk-" + canary + "0001"
    store.create("llm", {"kind": "model_service", "provider": "openai", "api_key": key})
    store.create(
        "hdrs", {"kind": "custom_headers", "headers": {"X-A": canary}}, description="<b>x</b>"
    )
    store.create_model("gpt", credential="llm", model="gpt-4o")
    store.resolve("llm", resource="tool:t")
    info = store.get("llm")
    pieces = {
        "info": info._repr_html_(),
        "list": store.list()._repr_html_(),  # type: ignore[attr-defined]
        "models": store.list_models()._repr_html_(),  # type: ignore[attr-defined]
        "model": store.get_model("gpt")._repr_html_(),
        "attachments": store.attachments("llm")._repr_html_(),  # type: ignore[attr-defined]
        "audit": store.audit()._repr_html_(),  # type: ignore[attr-defined]
        "event": store.audit()[0]._repr_html_(),
    }
    for what, text in pieces.items():
        assert text.startswith("<table>"), what
        assert canary not in text, what
    assert "sk-...0001" in pieces["info"] and "sk-...0001" in pieces["list"]
    assert "model:gpt" in pieces["list"] and "<td>model</td><td>gpt</td>" in pieces["attachments"]
    assert "used" in pieces["audit"] and "hdrs" in pieces["list"]
    assert store.list() == [store.get("hdrs"), info]  # still a plain list
