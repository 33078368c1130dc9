"""One Signer shape and a registry of them: every built-in provider is registered, an unknown
one is refused with the known names, and a third party's signer registered under a provider
is what ``http_auth`` then signs with, checked by the independent loopback verifier."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.kinds import CloudAccessKeyCredential
from agentrun_creds_plugin.outbound.cloud import sign_cloud
from agentrun_creds_plugin.signing import (
    AccessKey,
    ScopedKeyCache,
    Signer,
    SigningOptions,
    SigningRequest,
    UnknownProviderError,
    aliyun,
    aws,
    get_signer,
    known_providers,
    register_signer,
    tencent,
    uncached,
    unregister_signer,
)
from tests.support.api_server import ApiServer
from tests.support.signature_verifiers import SignatureError, check_request

NOW = 1_700_000_000.0


def test_every_provider_a_credential_can_name_has_a_signer() -> None:
    providers = CloudAccessKeyCredential.model_fields["provider"].annotation.__args__  # type: ignore[union-attr]
    assert set(providers) <= set(known_providers())
    for name in providers:
        assert isinstance(get_signer(name), Signer)


def test_unknown_provider_is_refused_with_the_known_names() -> None:
    with pytest.raises(UnknownProviderError) as info:
        get_signer("gcp")
    message = str(info.value)
    assert "'gcp'" in message and "aliyun, aws, tencent" in message
    assert "register_signer" in message


def test_registering_refuses_duplicates_bad_names_and_non_signers() -> None:
    with pytest.raises(ValueError, match="already registered; pass replace=True"):
        register_signer("aws", get_signer("aws"))
    with pytest.raises(ValueError, match="non-empty name"):
        register_signer(" ", get_signer("aws"))
    with pytest.raises(TypeError, match=r"implement agentrun_creds_plugin\.signing\.Signer"):
        register_signer("example", object())  # type: ignore[arg-type]
    assert "example" not in known_providers()


def test_registry_signers_match_the_module_functions_byte_for_byte() -> None:
    """The Signer shape is a thin layer: same headers as each module's ``sign``."""
    key = AccessKey("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "tok")
    url = "https://ec2.us-west-2.amazonaws.com/?Action=DescribeRegions&Version=2016-11-15"
    request = SigningRequest("GET", url, [("Host", "ec2.us-west-2.amazonaws.com")], b"", NOW)
    assert get_signer("aws").sign(request, key, SigningOptions()) == aws.sign(
        "GET",
        url,
        request.headers,
        b"",
        access_key_id=key.access_key_id,
        secret_access_key=key.secret,
        now=NOW,
        session_token="tok",
    )
    url = "https://cvm.tencentcloudapi.com/?Limit=1"
    request = SigningRequest("GET", url, [("Host", "cvm.tencentcloudapi.com")], b"", NOW)
    options = SigningOptions(region="ap-guangzhou", action="DescribeInstances", version="2017")
    assert get_signer("tencent").sign(request, key, options) == tencent.sign(
        "GET",
        url,
        request.headers,
        b"",
        secret_id=key.access_key_id,
        secret_key=key.secret,
        now=int(NOW),
        token="tok",
        region="ap-guangzhou",
        action="DescribeInstances",
        version="2017",
    )
    url = "https://ecs.cn-hangzhou.aliyuncs.com/?RegionId=cn-hangzhou"
    request = SigningRequest("GET", url, [("Host", "ecs.cn-hangzhou.aliyuncs.com")], b"", NOW)
    ours = dict(get_signer("aliyun").sign(request, key, SigningOptions(action="A", version="1")))
    theirs = aliyun.sign(
        "GET",
        url,
        request.headers,
        b"",
        access_key_id=key.access_key_id,
        access_key_secret=key.secret,
        now=NOW,
        nonce=ours["x-acs-signature-nonce"],
        security_token="tok",
        action="A",
        version="1",
    )
    assert ours == dict(theirs)


def test_the_callers_key_cache_is_used_and_secrets_stay_out_of_reprs(canary: str) -> None:
    calls: list[tuple[str, ...]] = []

    def cache(derive, secret, ident, /, *scope):  # type: ignore[no-untyped-def]
        calls.append(scope)
        return uncached(derive, secret, ident, *scope)

    key = AccessKey("AKID1", "sk-" + canary, "tok-" + canary, "us-east-1")
    assert canary not in repr(key)
    request = SigningRequest("GET", "https://ec2.amazonaws.com/", [], b"", NOW)
    get_signer("aws").sign(request, key, SigningOptions(), cache)
    assert calls == [("20231114", "us-east-1", "ec2")]


class _ApiServerVerifier:
    """The loopback server's check: a request passes only with a valid signature."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.failures: list[str] = []

    def __call__(self, method, path, query, headers, body):  # type: ignore[no-untyped-def]
        import urllib.parse

        target = path + (
            "?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote) if query else ""
        )
        try:
            check_request(method, target, headers, body, lambda provider, key_id: self.secret)
        except SignatureError as exc:
            self.failures.append(str(exc))
            return str(exc)
        return True


class _AuditedSigner:
    """A third party's signer: adds a header of its own and delegates the signature."""

    def __init__(self, inner: Signer) -> None:
        self.inner = inner
        self.signed: list[str] = []

    def sign(
        self,
        request: SigningRequest,
        key: AccessKey,
        options: SigningOptions,
        keys: ScopedKeyCache = uncached,
    ) -> list[tuple[str, str]]:
        self.signed.append(request.url)
        return [("X-Signed-By", "audited"), *self.inner.sign(request, key, options, keys)]


@pytest.fixture
def audited() -> Iterator[_AuditedSigner]:
    builtin = get_signer("aws")
    signer = _AuditedSigner(builtin)
    register_signer("aws", signer, replace=True)
    try:
        yield signer
    finally:
        register_signer("aws", builtin, replace=True)


def test_a_registered_signer_is_what_http_auth_signs_with(
    store: acp.CredentialStore, api_server: ApiServer, audited: _AuditedSigner
) -> None:
    verifier = _ApiServerVerifier("sk-third-party")
    api_server.check = verifier
    store.create(
        "cloud",
        acp.CloudAccessKeyCredential(
            provider="aws", access_key_id="AKIDAWS1", access_key_secret="sk-third-party"
        ),
    )
    auth = store.http_auth("cloud", service="ec2", region="us-east-1")
    url = api_server.url("/?Limit=1")
    with httpx2.Client(auth=auth) as client:
        response = client.post(url, content=b"{}", headers={"Content-Type": "application/json"})
    assert response.status_code == 200, verifier.failures
    assert audited.signed == [url]
    assert api_server.last_request.header("X-Signed-By") == "audited"


def test_a_third_party_provider_signs_through_the_registry() -> None:
    """A new provider name: registered, listed, found, used; then removed again."""

    class Example:
        def sign(
            self,
            request: SigningRequest,
            key: AccessKey,
            options: SigningOptions,
            keys: ScopedKeyCache = uncached,
        ) -> list[tuple[str, str]]:
            body = request.require_body()
            return [("Authorization", f"EXAMPLE {key.access_key_id} {len(body)}")]

    register_signer("example", Example())
    try:
        assert "example" in known_providers()
        request = SigningRequest("PUT", "https://api.example.test/x", [], b"abc", NOW)
        headers = get_signer("example").sign(request, AccessKey("AK", "sk"), SigningOptions())
        assert headers == [("Authorization", "EXAMPLE AK 3")]
    finally:
        unregister_signer("example")
    assert "example" not in known_providers()


def test_unregistered_builtin_gives_a_clear_error_through_sign_cloud() -> None:
    builtin = unregister_signer("tencent")
    assert builtin is not None
    try:
        cred = CloudAccessKeyCredential(
            provider="tencent", access_key_id="AKID", access_key_secret="sk-gone"
        )
        with pytest.raises(acp.InvalidCredentialError, match="no signer is registered") as info:
            sign_cloud(cred, "GET", "https://cvm.tencentcloudapi.com/", [], b"", NOW)
        assert "sk-gone" not in str(info.value)
    finally:
        register_signer("tencent", builtin)
