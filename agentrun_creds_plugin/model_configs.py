"""Model configurations: a model id and parameters that use an existing credential.

Creating one attaches its credential (``("model", name)``), so the credential's attached
resources show the model and a delete is refused while it exists.
"""

from __future__ import annotations

import builtins
import json
import time
from typing import Any

from .backends.base import ModelRow
from .errors import CredentialExistsError, CredentialNotFoundError, InvalidCredentialError
from .flows import Flow, arun, run
from .info import Listing, ModelConfig
from .kinds import check_name
from .records import audit_row, model_from_row
from .store_base import StoreBase

__all__ = ["ModelConfigs"]


class ModelConfigs(StoreBase):
    """The store's model-configuration methods."""

    def _create_model(
        self, name: str, credential: str, model: str, base_url: str | None, params: dict[str, Any]
    ) -> Flow[ModelConfig]:
        check_name(name)
        if not isinstance(model, str) or not model:
            raise InvalidCredentialError("model: give the provider's model id, e.g. gpt-4o-mini")
        try:
            json.dumps(params)
        except (TypeError, ValueError):
            raise InvalidCredentialError("params: must be JSON-serialisable") from None
        return self._create_model_flow(
            ModelRow(name, credential, model, base_url, params, time.time())
        )

    def _create_model_flow(self, row: ModelRow) -> Flow[ModelConfig]:
        self._found(row.credential, (yield "get", (row.credential,)))
        if not (yield "insert_model", (row,)):
            raise CredentialExistsError(row.name, what="model")
        if (yield "attach", (row.credential, "model", row.name, row.created_at)):
            yield "audit", (audit_row("attached", row.credential, f"model:{row.name}"),)
        return model_from_row(row)

    def create_model(
        self,
        /,
        name: str,
        *,
        credential: str,
        model: str,
        base_url: str | None = None,
        **params: Any,
    ) -> ModelConfig:
        """A model configuration that uses an existing credential (and attaches it)."""
        return run(self._backend, self._create_model(name, credential, model, base_url, params))

    async def acreate_model(
        self,
        /,
        name: str,
        *,
        credential: str,
        model: str,
        base_url: str | None = None,
        **params: Any,
    ) -> ModelConfig:
        flow = self._create_model(name, credential, model, base_url, params)
        return await arun(self._backend, flow)

    @staticmethod
    def _model_found(name: str, row: ModelRow | None) -> ModelConfig:
        if row is None:
            raise CredentialNotFoundError(name, what="model")
        return model_from_row(row)

    def get_model(self, name: str) -> ModelConfig:
        return self._model_found(name, self._backend.get_model(name))

    async def aget_model(self, name: str) -> ModelConfig:
        return self._model_found(name, await self._backend.aget_model(name))

    def list_models(self) -> builtins.list[ModelConfig]:
        return Listing(model_from_row(r) for r in self._backend.list_models())

    async def alist_models(self) -> builtins.list[ModelConfig]:
        return Listing(model_from_row(r) for r in await self._backend.alist_models())

    def _delete_model_flow(self, name: str) -> Flow[None]:
        row = yield "get_model", (name,)
        self._model_found(name, row)
        yield "delete_model", (name,)
        if (yield "detach", (row.credential, "model", name)):
            yield "audit", (audit_row("detached", row.credential, f"model:{name}"),)

    def delete_model(self, name: str) -> None:
        """Delete a model configuration and detach its credential."""
        run(self._backend, self._delete_model_flow(name))

    async def adelete_model(self, name: str) -> None:
        await arun(self._backend, self._delete_model_flow(name))

    def resolve_model(self, name: str) -> tuple[ModelConfig | None, str]:
        """A model configuration (or None) and the credential name it uses."""
        row = self._backend.get_model(name)
        return (model_from_row(row), row.credential) if row is not None else (None, name)

    async def aresolve_model(self, name: str) -> tuple[ModelConfig | None, str]:
        row = await self._backend.aget_model(name)
        return (model_from_row(row), row.credential) if row is not None else (None, name)
