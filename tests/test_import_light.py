"""A cold start stays light: what ``import``, ``open`` and the first ``resolve`` leave out.

Serverless agents pay import + open + first resolve on every start, so these tests pin, in a
fresh interpreter, the work that was taken off that path: importing the package loads neither
pydantic nor cryptography nor sqlite3; opening the store and resolving builds no pydantic
schema (nor pydantic's plugin scan of every installed package) and loads no SDK. They check
behaviour (what a process has loaded), not time; ``benchmarks/bench_coldstart.py`` times it.
The shortcuts taken for this (records decoded without re-validation, settings read without
validation) are checked here against pydantic's own result, kind by kind.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import agentrun_creds_plugin as acp
from agentrun_creds_plugin import codec, crypto
from agentrun_creds_plugin.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[1]
SDKS = (
    "langchain_core",
    "langchain",
    "openai",
    "anthropic",
    "httpx",
    "httpx2",
    "requests",
    "psycopg",
    "click",
)


def _fresh(code: str, *args: str) -> Any:
    """Run ``code`` in a new interpreter; it prints one JSON document."""
    out = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=REPO, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def test_importing_the_package_loads_no_pydantic_cryptography_or_sqlite() -> None:
    code = (  # no json here: it is one of the modules looked for
        "import sys; import agentrun_creds_plugin as acp; acp.CredentialNotFoundError; "
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    loaded = out.stdout.split()
    assert "agentrun_creds_plugin" in loaded
    heavy = {"pydantic", "pydantic_core", "cryptography", "sqlite3", "json", "logging", *SDKS}
    assert heavy.isdisjoint(loaded), sorted(heavy.intersection(loaded))


def test_lazy_names_are_the_real_ones() -> None:
    from agentrun_creds_plugin.kinds import ModelServiceCredential
    from agentrun_creds_plugin.store import CredentialStore

    assert acp.ModelServiceCredential is ModelServiceCredential
    assert acp.CredentialStore is CredentialStore
    assert set(acp.__all__) <= set(dir(acp))
    with pytest.raises(AttributeError, match="no attribute 'NoSuchName'"):
        acp.NoSuchName  # noqa: B018


COLD = """
import json, sys
import agentrun_creds_plugin as acp
folder = sys.argv[1]
with acp.CredentialStore.open(f"sqlite:///{folder}/cold.db", master_key=sys.argv[2]) as store:
    cred = store.resolve("llm")
    key = cred.api_key.get_secret_value()
    from agentrun_creds_plugin.settings import Settings
    print(json.dumps({
        "key": key == "sk-" + "a" * 40,
        "kind_schema_built": type(cred).__pydantic_complete__,
        "settings_schema_built": Settings.__pydantic_complete__,
        "modules": sorted(sys.modules),
    }))
"""


def test_open_and_first_resolve_build_no_schema_and_load_no_sdk(tmp_path: Path) -> None:
    key = acp.generate_master_key()
    with acp.CredentialStore.open(f"sqlite:///{tmp_path}/cold.db", master_key=key) as store:
        store.create("llm", acp.ModelServiceCredential(provider="openai", api_key="sk-" + "a" * 40))
    seen = _fresh(COLD, str(tmp_path), key)
    assert seen["key"] is True
    assert seen["kind_schema_built"] is False
    assert seen["settings_schema_built"] is False
    modules = set(seen["modules"])
    # pydantic's plugin scan reads every installed package's metadata (tens of ms)
    assert "importlib.metadata" not in modules
    # the AES-GCM primitive only, not the cipher modules around it
    assert "cryptography.hazmat.primitives.ciphers.base" not in modules
    # a sync caller pays nothing for the async API (asyncio is ~10 ms of imports)
    assert "asyncio" not in modules
    assert {m.split(".")[0] for m in modules}.isdisjoint(SDKS)


def test_aesgcm_is_the_public_primitive() -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    assert crypto.AESGCM is AESGCM


JWKS = {"keys": [{"kty": "RSA", "kid": "k1", "use": "sig", "n": "sXch" + "A" * 40, "e": "AQAB"}]}
SOON = datetime(2031, 5, 4, 3, 2, 1, tzinfo=timezone(timedelta(hours=8)))

SAMPLES = [
    acp.ApiKeyCredential(api_key="k" * 20, header_name="X-Api-Key", prefix="Key"),
    acp.ApiKeyCredential(api_key="short", expires_at=SOON),
    acp.JwtCredential(
        jwks_url="https://auth.example.com/jwks.json",
        jwks_method="POST",
        jwks_headers={"X-Token": "jwks-secret"},
        jwks_body='{"a": 1}',
        audience=["a", "b"],
        required_scopes=["read"],
        algorithms=["RS256"],
    ),
    acp.JwtCredential(jwks=JWKS, issuer="https://issuer.example.com"),
    acp.BasicAuthCredential(username="alice", password="pw-secret"),
    acp.ModelServiceCredential(provider="openai", api_key="sk-" + "b" * 40, expires_at=SOON),
    acp.ModelServiceCredential(
        provider="azure_openai",
        api_key="az-key-secret",
        base_url="https://x.openai.azure.com",
        api_version="2024-06-01",
    ),
    acp.ToolApiKeyCredential(api_key="tool-secret", location="query", param="key"),
    acp.ToolApiKeyCredential(api_key="tool-secret"),
    acp.CloudAccessKeyCredential(
        provider="aws",
        access_key_id="AKIAIOSFODNN7EXAMPLE",
        access_key_secret="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        security_token="token-secret",
        region="us-east-1",
    ),
    acp.CloudAccessKeyCredential(
        provider="aliyun", access_key_id="LTAI5tExample", access_key_secret="aliyun-secret"
    ),
    acp.CustomHeadersCredential(headers={"X-One": "one-secret", "X-Two": "two-secret"}),
]


def _kind(cred: acp.CredentialBase) -> str:
    kind: str = type(cred).model_fields["kind"].default
    return kind


@pytest.mark.parametrize("cred", SAMPLES, ids=lambda c: type(c).__name__)
def test_a_record_decoded_without_validation_equals_the_validated_one(
    cred: acp.CredentialBase,
) -> None:
    plaintext = codec.credential_to_plaintext(cred)
    codec._TEMPLATES.clear()
    fast = codec.credential_from_plaintext(_kind(cred), plaintext)
    validated = codec.credential_from_plaintext(_kind(cred), plaintext, validate=True)
    again = codec.credential_from_plaintext(_kind(cred), plaintext)  # from the template
    for built in (fast, again):
        assert type(built) is type(validated)
        assert built == validated == cred
        assert built.model_fields_set == validated.model_fields_set
        assert built.model_dump() == validated.model_dump()
        assert built.model_dump_json() == validated.model_dump_json()
        assert repr(built) == repr(validated)
        assert built.preview() == validated.preview()
        for name in type(cred).model_fields:
            assert type(getattr(built, name)) is type(getattr(validated, name)), name
    if cred.expires_at is not None:
        assert fast.expires_at == SOON and fast.expires_at.tzinfo is UTC


def test_first_instance_does_not_share_mutable_values_with_later_ones() -> None:
    cred = acp.JwtCredential(jwks=JWKS, required_scopes=["read"])
    plaintext = codec.credential_to_plaintext(cred)
    codec._TEMPLATES.clear()
    first = codec.credential_from_plaintext("jwt", plaintext)
    assert isinstance(first, acp.JwtCredential)
    first.required_scopes.append("write")
    later = codec.credential_from_plaintext("jwt", plaintext)
    assert isinstance(later, acp.JwtCredential) and later.required_scopes == ["read"]


def _with_public(plaintext: bytes, change: dict[str, Any], drop: str | None = None) -> bytes:
    head, sep, rest = plaintext.partition(b"\x00")
    public = json.loads(head)
    public.update(change)
    if drop:
        del public[drop]
    return json.dumps(public, separators=(",", ":"), sort_keys=True).encode() + sep + rest


def test_a_record_of_another_shape_is_validated_in_full() -> None:
    cred = acp.ToolApiKeyCredential(api_key="tool-secret", location="query", param="key")
    plaintext = codec.credential_to_plaintext(cred)
    # written before a field existed: pydantic fills the default
    older = codec.credential_from_plaintext(
        "tool_api_key", _with_public(plaintext, {}, drop="prefix")
    )
    assert older == cred
    # a field this version does not know: refused as malformed, naming no secret
    with pytest.raises(acp.InvalidCredentialError) as info:
        codec.credential_from_plaintext("tool_api_key", _with_public(plaintext, {"extra": 1}))
    assert "tool-secret" not in str(info.value)
    # a timestamp that is not one: validation gives the clear error
    with pytest.raises(acp.InvalidCredentialError, match="expires_at"):
        codec.credential_from_plaintext(
            "tool_api_key", _with_public(plaintext, {"expires_at": "soon"})
        )


def test_settings_read_without_validation_equal_validated_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTRUN_CREDS_URL", "sqlite:///x.db")
    monkeypatch.setenv("agentrun_creds_master_keys", "k1,k2")
    monkeypatch.setenv("AGENTRUN_CREDS_KEY_FILE", "~/keys")
    monkeypatch.setenv("AGENTRUN_CREDS_CA_FILE", str(tmp_path / "ca.pem"))
    monkeypatch.setenv("AGENTRUN_CREDS_SECRETS_DIR", str(tmp_path))
    light = load_settings()
    validated = Settings(
        url="sqlite:///x.db", master_keys="k1,k2", key_file="~/keys", ca_file=tmp_path / "ca.pem"
    )
    assert light == validated
    assert repr(light) == repr(validated) and "k1" not in repr(light)
    assert light.model_fields_set == validated.model_fields_set


def test_settings_with_a_number_are_still_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTRUN_CREDS_BUSY_TIMEOUT", "2.5")
    assert load_settings().busy_timeout == 2.5
    monkeypatch.setenv("AGENTRUN_CREDS_BUSY_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="busy_timeout"):
        load_settings()
