"""A small FastAPI agent service whose callers are verified by a stored service credential.

Callers send the API key the store holds under ``agent-key``; the service never holds it. The
key is read from the store on every request, so ``store.update(...)`` (with ``grace_seconds``
for a rotation without downtime), ``store.disable(...)`` or a delete attempt (refused while the
route is attached) take effect at once. ``/docs`` shows the key header in its "Authorize" dialog.

Create the credential once::

    import agentrun_creds_plugin as acp
    store = acp.CredentialStore.open()
    store.create("agent-key", acp.ApiKeyCredential(api_key="...", header_name="X-Api-Key"))

Then serve and call it::

    python examples/fastapi_service.py          # AGENT_HOST / AGENT_PORT, default 127.0.0.1:8000
    curl -H "X-Api-Key: ..." -d '{"question": "hi"}' http://127.0.0.1:8000/agent/run

Environment: ``AGENT_CREDENTIAL`` (default ``agent-key``), ``AGENT_HOST``, ``AGENT_PORT`` (0 picks
a free port) and the store's own settings (``AGENTRUN_CREDS_URL``, ``AGENTRUN_CREDS_MASTER_KEYS``).
The tests run this file against a temporary store.

No ``from __future__ import annotations`` here: FastAPI reads the annotations as objects.
"""

import os
from typing import Annotated, Any

import uvicorn
from fastapi import Depends, FastAPI
from pydantic import BaseModel

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.inbound import Principal
from agentrun_creds_plugin.integrations.fastapi import require_credential


class Question(BaseModel):
    question: str


def answer(question: str) -> str:
    """Stands in for the agent (an LLM call, a LangGraph run...)."""
    return f"You asked: {question.strip()[:200]}"


def build_app(store: acp.CredentialStore, credential: str = "agent-key") -> FastAPI:
    """The service: ``POST /agent/run`` needs the credential, ``GET /health`` does not."""
    app = FastAPI(title="agent-service")
    caller = Annotated[Principal, Depends(require_credential(store, credential))]

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"ok": True}

    @app.post("/agent/run")
    async def run(body: Question, principal: caller) -> dict[str, Any]:
        return {
            "answer": answer(body.question),
            "credential": principal.credential,
            "matched": principal.matched,
        }

    return app


def main() -> None:
    store = acp.CredentialStore.open()
    app = build_app(store, os.environ.get("AGENT_CREDENTIAL", "agent-key"))
    host = os.environ.get("AGENT_HOST", "127.0.0.1")
    port = int(os.environ.get("AGENT_PORT", "8000"))
    try:
        uvicorn.run(app, host=host, port=port, log_level="info")
    finally:
        store.close()


if __name__ == "__main__":
    main()
