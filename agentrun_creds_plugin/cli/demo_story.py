"""The quick start told by ``agentrun-creds demo``: each step acts, then checks what it claims.

A step is a function of the :class:`Demo` that returns the line to print, or raises
:class:`StepFailed` saying what did not behave. Only masked previews reach a line: the keys are
made up here and go to the store and to the loopback server, never to the output.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import CredentialDisabledError, CredentialInUseError
from ..kinds import ModelServiceCredential
from ..store import CredentialStore
from ..testing.openai_server import OpenAICompatibleServer, mask

CREDENTIAL = "my-llm-key"
MODEL = "gpt"


class StepFailed(Exception):
    """A step did not behave as the quick start says."""


def _key(n: int) -> str:
    return f"sk-demo-{secrets.token_hex(12)}{n:04d}"


@dataclass
class Demo:
    """The store, the server and the keys the story uses, and its steps in order."""

    store: CredentialStore
    server: OpenAICompatibleServer
    keys: list[str] = field(default_factory=lambda: [_key(1), _key(2)])
    llm: Any = None

    def _credential(self, key: str) -> ModelServiceCredential:
        return ModelServiceCredential(
            provider="openai_compatible", api_key=key, base_url=self.server.base_url
        )

    def create_credential(self) -> str:
        self.server.accepted_keys = {self.keys[0]}
        info = self.store.create(
            CREDENTIAL, self._credential(self.keys[0]), description="the demo's model key"
        )
        if info.preview != mask(self.keys[0]) and "..." not in info.preview:
            raise StepFailed(f"unexpected preview {info.preview}")
        return f"created credential {CREDENTIAL} (model_service, {info.preview}), encrypted"

    def create_model(self) -> str:
        m = self.store.create_model(MODEL, credential=CREDENTIAL, model="gpt-4o-mini")
        return f"created model {m.name} ({m.model}) that uses credential {m.credential}"

    def _call(self, prompt: str) -> str:
        before = self.server.request_count
        reply = self.llm.invoke(prompt).content
        if reply != f"echo: {prompt}" or self.server.request_count != before + 1:
            raise StepFailed(f"unexpected reply {reply!r}")
        return str(reply)

    def first_call(self) -> str:
        from langchain_openai import ChatOpenAI

        from ..integrations.langchain import chat_model

        self.llm = chat_model(self.store, MODEL, max_retries=0)
        if not isinstance(self.llm, ChatOpenAI):
            raise StepFailed(f"chat_model built a {type(self.llm).__name__}, not a ChatOpenAI")
        reply = self._call("hello")
        seen = self.server.seen_previews()[-1]
        return f"ChatOpenAI.invoke -> {reply!r} (the server got {seen})"

    def rotate(self) -> str:
        self.server.accepted_keys = {self.keys[1]}  # the provider revoked the old key
        info = self.store.update(CREDENTIAL, self._credential(self.keys[1]))
        if info.version != 2:
            raise StepFailed(f"version {info.version} after update, expected 2")
        return (
            f"rotated the key: the server now accepts only {mask(self.keys[1])}; "
            f"store.update -> version {info.version}"
        )

    def call_after_rotation(self) -> str:
        reply = self._call("hello again")
        seen = self.server.seen_previews()[-1]
        if seen != mask(self.keys[1]):
            raise StepFailed("the call after the rotation did not use the new key")
        return f"same model object, no rebuild -> {reply!r} (the server got {seen})"

    def disable(self) -> str:
        self.store.disable(CREDENTIAL)
        before = self.server.request_count
        try:
            self.llm.invoke("are you there?")
        except CredentialDisabledError as exc:
            sent = self.server.request_count - before
            if sent:
                raise StepFailed(f"{sent} request(s) reached the server while disabled") from None
            return (
                f"disabled {CREDENTIAL} -> the call fails with {exc.status_code}; 0 requests sent"
            )
        raise StepFailed("the call succeeded with the credential disabled")

    def attachments(self) -> str:
        attached = self.store.attachments(CREDENTIAL)
        if ("model", MODEL) not in attached:
            raise StepFailed(f"model:{MODEL} is not among the attachments {attached}")
        shown = ", ".join(f"{t}:{n}" for t, n in attached)
        return f"resources attached to {CREDENTIAL}: {shown}"

    def refuse_delete(self) -> str:
        try:
            self.store.delete(CREDENTIAL)
        except CredentialInUseError as exc:
            return f"delete refused while attached ({exc.status_code}): detach or --force first"
        raise StepFailed("the credential was deleted while attached")

    def audit(self) -> str:
        actions = [e.action for e in reversed(self.store.audit(CREDENTIAL))]
        for needed in ("created", "attached", "used", "updated", "disabled", "use_failed"):
            if needed not in actions:
                raise StepFailed(f"no {needed!r} event in the audit trail {actions}")
        compact: list[str] = []
        for a in actions:
            if compact and compact[-1].split(" x")[0] == a:
                count = int(compact[-1].split(" x")[1]) + 1 if " x" in compact[-1] else 2
                compact[-1] = f"{a} x{count}"
            else:
                compact.append(a)
        return "audit trail: " + " -> ".join(compact)

    def steps(self) -> list[Callable[[], str]]:
        return [
            self.create_credential,
            self.create_model,
            self.first_call,
            self.rotate,
            self.call_after_rotation,
            self.disable,
            self.attachments,
            self.refuse_delete,
            self.audit,
        ]
