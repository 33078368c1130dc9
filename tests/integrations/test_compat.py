"""The SDK private names the integrations rely on still exist and still behave as relied on.

Each name is reached only through ``agentrun_creds_plugin.integrations._compat``; these tests
check the names themselves against the installed SDKs, so an SDK release that moves one fails
here loudly (instead of the integrations silently sending the placeholder key, or the default
tenant's key because the run's selection is no longer seen).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Mapping

import anthropic
import langchain_core.runnables.config as runnable_config
import pytest
from langchain_anthropic import ChatAnthropic
from langchain_core.runnables import RunnableLambda

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.integrations import _compat
from agentrun_creds_plugin.integrations._common import PLACEHOLDER_KEY
from agentrun_creds_plugin.integrations.anthropic import anthropic_client, async_anthropic_client
from tests.integrations.conftest import ANTHROPIC_MODEL, async_test
from tests.support.llm_server import LLMServer

AddCred = Callable[..., acp.ModelServiceCredential]


def test_anthropic_prepare_request_hook_exists_sync_and_async() -> None:
    for cls in (anthropic.Anthropic, anthropic.AsyncAnthropic):
        assert callable(getattr(cls, _compat.ANTHROPIC_PREPARE_REQUEST, None)), cls


def test_the_hook_runs_on_every_request_so_the_real_key_is_sent(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    key = add_model_credential("claude", "anthropic").api_key.get_secret_value()
    client = anthropic_client(store, "claude")
    for _ in range(2):
        client.messages.create(
            model=ANTHROPIC_MODEL, max_tokens=8, messages=[{"role": "user", "content": "hi"}]
        )
        sent = server.last_request
        assert sent.status == 200
        assert sent.header("authorization") == f"Bearer {key}"
        assert PLACEHOLDER_KEY not in str(sent.header("authorization"))


@async_test
async def test_the_async_hook_runs_on_every_request(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    key = add_model_credential("claude", "anthropic").api_key.get_secret_value()
    client = async_anthropic_client(store, "claude")
    for _ in range(2):
        await client.messages.create(
            model=ANTHROPIC_MODEL, max_tokens=8, messages=[{"role": "user", "content": "hi"}]
        )
        assert server.last_request.header("authorization") == f"Bearer {key}"
    await client.close()


def test_anthropic_version_is_what_the_user_agent_carries() -> None:
    plain = anthropic.Anthropic(api_key="sk-x", base_url="http://127.0.0.1:9")
    assert _compat.sdk_version(plain) == anthropic.__version__
    assert plain.user_agent == f"Anthropic/Python {anthropic.__version__}"


def test_langchain_anthropic_http_client_factories_and_client_params() -> None:
    factories = _compat.langchain_anthropic_http_clients()
    assert factories is not None, "langchain_anthropic._client_utils moved"
    sync_client = factories[0](base_url="http://127.0.0.1:9")
    async_client = factories[1](base_url="http://127.0.0.1:9")
    assert hasattr(sync_client, "send") and hasattr(async_client, "send")
    model = ChatAnthropic(model=ANTHROPIC_MODEL, api_key="sk-x", base_url="http://127.0.0.1:9")
    params = _compat.chat_anthropic_client_params(model)
    assert params["base_url"] == "http://127.0.0.1:9"
    assert "api_key" in params


def test_var_child_runnable_config_holds_the_running_config() -> None:
    assert isinstance(runnable_config.var_child_runnable_config, contextvars.ContextVar)
    assert _compat.current_runnable_config() is None

    def read(_: int) -> Mapping[str, object] | None:
        return _compat.current_runnable_config()

    seen = RunnableLambda(read).invoke(1, config={"configurable": {"credential": "tenant-b"}})
    assert seen is not None
    assert seen["configurable"] == {"credential": "tenant-b"}


def test_tool_invocation_error_is_langgraphs_and_builds_without_init() -> None:
    from langgraph.prebuilt.tool_node import ToolInvocationError

    base = _compat.tool_exception_base()
    assert base is ToolInvocationError
    made = _compat.build_without_init(
        ToolInvocationError, ("boom",), {"tool_name": "t", "tool_kwargs": {}, "source": None}
    )
    assert isinstance(made, ToolInvocationError) and made.args == ("boom",)
    assert str(made) == "boom" and made.tool_name == "t"


@pytest.mark.parametrize("cls", [anthropic.Anthropic, anthropic.AsyncAnthropic])
def test_hook_mixins_sit_before_the_sdk_class(cls: type) -> None:
    from agentrun_creds_plugin.integrations.anthropic import (
        AsyncCredentialAnthropic,
        CredentialAnthropic,
    )

    ours = CredentialAnthropic if cls is anthropic.Anthropic else AsyncCredentialAnthropic
    mro = ours.__mro__
    hook = (
        _compat.PrepareRequestHook
        if cls is anthropic.Anthropic
        else _compat.AsyncPrepareRequestHook
    )
    assert mro.index(hook) < mro.index(cls)
