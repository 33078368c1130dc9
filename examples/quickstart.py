"""The quickstart: a model credential used by name, edited and disabled while in use.

Runs on the embedded default (a SQLite file and a key file in ./.demo) against a loopback
server that speaks the OpenAI API and accepts only the key the store currently holds, so it
needs no network and no real key. Run it with ``make demo``.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the loopback server lives with the tests

import agentrun_creds_plugin as acp  # noqa: E402
from tests.support.llm_server import LLMServer  # noqa: E402


def main() -> None:
    demo = ROOT / ".demo"
    demo.mkdir(exist_ok=True)
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(message)s", stream=sys.stdout
    )
    for leftover in demo.glob("credentials.db*"):
        leftover.unlink()
    store = acp.CredentialStore.open(f"sqlite:///{demo / 'credentials.db'}")
    server = LLMServer(accepted_keys=lambda: {_current_key(store)})
    with server, store:
        print(f"store: {store.url}")
        store.create(
            "my-llm-key",
            acp.ModelServiceCredential(
                provider="openai_compatible", api_key="sk-demo-key-0001", base_url=server.base_url
            ),
        )
        store.create_model("gpt", credential="my-llm-key", model="gpt-4o-mini")
        print("created credential my-llm-key:", store.get("my-llm-key").preview)

        from agentrun_creds_plugin.integrations.langchain import chat_model

        llm = chat_model(store, "gpt")
        print("1. invoke ->", llm.invoke("hi").content)

        store.update(
            "my-llm-key",
            acp.ModelServiceCredential(
                provider="openai_compatible",
                api_key="sk-demo-key-0002",
                base_url=server.base_url,
            ),
        )
        print("2. after store.update, the same model ->", llm.invoke("hi again").content)
        print(
            "   keys the server saw (masked):", [f"{k[:3]}...{k[-4:]}" for k in server.keys_seen()]
        )

        store.disable("my-llm-key")
        before = server.request_count
        try:
            llm.invoke("hi")
        except acp.CredentialDisabledError as exc:
            print(f"3. disabled -> {type(exc).__name__} (status {exc.status_code}): {exc}")
        print("   requests sent while disabled:", server.request_count - before)

        store.enable("my-llm-key")
        print("4. enabled again ->", llm.invoke("back").content)
        print("attachments:", store.attachments("my-llm-key"))
        events = store.audit("my-llm-key")
        print("audit:", [e.action for e in reversed(events) if e.resource != "demo-server"])


def _current_key(store: acp.CredentialStore) -> str:
    """What the server accepts: the key the store holds right now."""
    try:
        cred = store.resolve("my-llm-key", resource="demo-server")
    except acp.CredentialError:
        return ""
    assert isinstance(cred, acp.ModelServiceCredential)
    return cred.api_key.get_secret_value()


if __name__ == "__main__":
    main()
