"""The model clients' per-request key path: fast, and still as fresh as ``resolve``.

Each request reads the record and decrypts it (the store's ``_use_plaintext``) without
rebuilding the kind object; what is reused between requests is learnt per *record* (how to
decrypt it, where the key lies, that its endpoint was checked). These tests drive the real
clients against the loopback server, which accepts only the store's current keys, and check
what a user sees: an update, a disable, a master-key rotation or an endpoint edit reaches the
very next request; two tenants (and a per-run selection) on one pooled client each send their
own key; and nothing the path keeps holds a key.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.integrations.langchain import chat_model
from agentrun_creds_plugin.integrations.openai import async_openai_client, openai_client
from tests.integrations.conftest import (
    MESSAGES,
    OPENAI_MODEL,
    async_test,
    model_credential,
    new_key,
    reachable_secret,
    rotate,
)
from tests.support.llm_server import LLMServer

AddCred = Callable[..., acp.ModelServiceCredential]


def _binding(llm: Any) -> Any:
    return llm._agentrun_binding


def test_each_update_reaches_the_next_chat_model_call(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    first = add_model_credential("llm").api_key.get_secret_value()
    llm = chat_model(store, "llm", model=OPENAI_MODEL)
    llm.invoke("hi")
    llm.invoke("hi")
    assert server.last_request.presented_key == first
    for _ in range(3):  # several rotations, each followed by two calls
        key = rotate(store, server, "llm", "openai")
        llm.invoke("hi")
        assert server.last_request.presented_key == key
        llm.invoke("hi")
        assert server.last_request.accepted and server.last_request.presented_key == key


def test_disable_fails_the_next_call_with_401_and_enable_restores_it(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    add_model_credential("llm")
    llm = chat_model(store, "llm", model=OPENAI_MODEL, max_retries=3)
    client = openai_client(store, "llm", max_retries=3)
    llm.invoke("hi")
    client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES)
    sent = server.request_count
    store.disable("llm")
    for call in (
        lambda: llm.invoke("hi"),
        lambda: client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES),
    ):
        with pytest.raises(acp.CredentialDisabledError) as info:
            call()
        assert info.value.status_code == 401
        assert "store.enable('llm')" in str(info.value)
    assert server.request_count == sent  # nothing sent, no retry
    store.enable("llm")
    llm.invoke("hi")
    assert server.last_request.accepted


def test_a_credential_expires_between_two_calls(
    store: acp.CredentialStore, server: LLMServer
) -> None:
    # the same record on both calls: the expiry is checked on every request, not learnt
    expires = datetime.now(UTC) + timedelta(seconds=1)
    cred = model_credential(server, "openai", new_key())
    store.create("soon", cred.model_copy(update={"expires_at": expires}))
    client = openai_client(store, "soon", max_retries=2)
    client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES)
    client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES)
    sent = server.request_count
    time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.05)
    with pytest.raises(acp.CredentialExpiredError) as info:
        client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES)
    assert info.value.status_code == 401
    assert server.request_count == sent


def test_a_master_key_rotation_keeps_calls_working(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    key = add_model_credential("llm").api_key.get_secret_value()
    llm = chat_model(store, "llm", model=OPENAI_MODEL)
    llm.invoke("hi")
    before = store.backend.get("llm")
    store.rotate_master_key(acp.generate_master_key())
    after = store.backend.get("llm")
    assert before is not None and after is not None and after.blob != before.blob
    llm.invoke("hi")
    assert server.last_request.accepted and server.last_request.presented_key == key


def test_an_endpoint_edit_is_refused_on_the_next_request(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    add_model_credential("llm")
    llm = chat_model(store, "llm", model=OPENAI_MODEL)
    llm.invoke("hi")
    sent = server.request_count
    store.update(
        "llm",
        acp.ModelServiceCredential(
            provider="openai", api_key=new_key(), base_url="https://elsewhere.invalid/v1"
        ),
    )
    with pytest.raises(acp.InvalidCredentialError, match="only sent to its own endpoint"):
        llm.invoke("hi")
    assert server.request_count == sent


def test_two_tenants_and_a_selection_interleaved_each_send_their_own_key(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    keys = {t: add_model_credential(t).api_key.get_secret_value() for t in ("a", "b", "c")}
    llms = {t: chat_model(store, t, model=OPENAI_MODEL) for t in ("a", "b")}
    # one pooled transport under both models
    assert llms["a"].root_client._client._transport is llms["b"].root_client._client._transport
    run_c = {"configurable": {"agentrun_credentials": {"a": "c"}}}
    for i in range(12):
        if i == 6:  # a rotation midway reaches only its own tenant
            keys["b"] = rotate(store, server, "b", "openai")
        for name, llm, config, expected in (
            ("a", llms["a"], None, "a"),
            ("b", llms["b"], None, "b"),
            ("a", llms["a"], run_c, "c"),
        ):
            llm.invoke(f"{name} {i}", config=config)  # type: ignore[arg-type]
            last = server.last_request
            assert last.accepted and last.presented_key == keys[expected], (i, name, expected)


@async_test
async def test_async_calls_take_the_same_path(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    add_model_credential("llm")
    client = async_openai_client(store, "llm")
    llm = chat_model(store, "llm", model=OPENAI_MODEL)
    await client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES)
    await llm.ainvoke("hi")
    key = rotate(store, server, "llm", "openai")
    await client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES)
    assert server.last_request.presented_key == key
    await llm.ainvoke("hi")
    assert server.last_request.presented_key == key
    store.disable("llm")
    with pytest.raises(acp.CredentialDisabledError):
        await llm.ainvoke("hi")


def test_every_request_is_audited_as_a_use_by_its_model(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    add_model_credential("llm")
    llm = chat_model(store, "llm", model=OPENAI_MODEL)
    resource = f"model:openai:{OPENAI_MODEL}"
    before = len(store.audit("llm", action="used", resource=resource))
    for _ in range(5):
        llm.invoke("hi")
    assert len(store.audit("llm", action="used", resource=resource)) - before == 5


def test_what_the_path_keeps_holds_no_key(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    keys = [add_model_credential(t).api_key.get_secret_value() for t in ("a", "b")]
    llm = chat_model(store, "a", model=OPENAI_MODEL)
    client = openai_client(store, "b")
    for _ in range(3):
        llm.invoke("hi", config={"configurable": {"agentrun_credentials": {"a": "b"}}})
        llm.invoke("hi")
        client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES)
    assert server.last_request.accepted
    kept = (store._openers, _binding(llm)._memo, client._client.auth.binding._memo)
    assert set(store._openers) == {"a", "b"} and set(_binding(llm)._memo) == {"a", "b"}
    for key in keys:
        assert reachable_secret(kept, key) is None
        assert key not in repr(kept)
        assert key not in repr(_binding(llm)) + repr(client._client.auth)
