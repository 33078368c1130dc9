"""Bad input, property-based (docs/reliability.md, "Bad input").

Random names, credential documents, request headers, JWTs, JWKS documents, URLs, bodies and
corrupted database files go into the public entry points. Every answer is a success or one of
the documented errors (:mod:`agentrun_creds_plugin.errors`, status 401, 403, 404, 409, 422,
500, 503), never another exception; and a credential stored before still resolves after.
Examples are bounded so the module runs in well under a minute.
"""

from __future__ import annotations

import base64
import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.kinds import KINDS
from tests.inbound.test_jwt import KEY, _jwk

DOCUMENTED = {401, 403, 404, 409, 422, 500, 503}
FAST = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
KEEPER = "keeper-value-0123456789"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def documented(call: Callable[[], Any]) -> acp.CredentialError | None:
    """Run ``call``; a documented error is returned, anything else fails the test."""
    try:
        call()
    except acp.CredentialError as exc:
        assert exc.status_code in DOCUMENTED, repr(exc)
        assert str(exc)  # says what is wrong
        return exc
    return None


@pytest.fixture(scope="module")
def shared() -> Iterator[acp.CredentialStore]:
    folder = Path(tempfile.mkdtemp())
    store = acp.CredentialStore.open(
        f"sqlite:///{folder / 'bad.db'}", master_key=acp.generate_master_key()
    )
    store.create("keeper", acp.ToolApiKeyCredential(api_key=KEEPER))
    store.create("inbound-key", acp.ApiKeyCredential(api_key="inbound-secret-1"))
    store.create(
        "inbound-jwt",
        acp.JwtCredential(
            jwks={"keys": [_jwk(KEY, "k1")]},
            issuer="https://idp",
            audience="svc",
        ),
    )
    yield store
    store.close()
    shutil.rmtree(folder, ignore_errors=True)


def _keeper_intact(store: acp.CredentialStore) -> None:
    cred = store.resolve("keeper")
    assert cred.api_key.get_secret_value() == KEEPER  # type: ignore[attr-defined]


@FAST
@given(name=st.text(max_size=80), value=st.text(max_size=40))
def test_random_names(shared: acp.CredentialStore, name: str, value: str) -> None:
    assume(name != "keeper")
    cred: dict[str, Any] = {"kind": "tool_api_key", "api_key": value}
    for call in (
        lambda: shared.get(name),
        lambda: shared.resolve(name),
        lambda: shared.create(name, cred),
        lambda: shared.update(name, description=value),
        lambda: shared.check(name),
        lambda: shared.attach(name, "tool", value or "t"),
        lambda: shared.delete(name, force=True),
        lambda: shared.http_auth(name),
        lambda: shared.verifier(name),
    ):
        documented(call)
    _keeper_intact(shared)


@FAST
@given(
    kind=st.sampled_from(sorted(KINDS)) | st.text(max_size=10),
    fields=st.dictionaries(st.text(max_size=15), json_values, max_size=6),
)
def test_random_credential_documents(
    shared: acp.CredentialStore, kind: str, fields: dict[str, Any]
) -> None:
    doc = {**fields, "kind": kind}
    if documented(lambda: shared.create("doc", doc)) is None:
        documented(lambda: shared.resolve("doc"))
        documented(lambda: shared.update("doc", doc))
        shared.delete("doc", force=True)
    documented(lambda: shared.update("keeper", doc))  # refused unless a valid tool key
    if shared.get("keeper").version > 1:  # a valid tool_api_key document replaced it: put back
        shared.update("keeper", acp.ToolApiKeyCredential(api_key=KEEPER))
    _keeper_intact(shared)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


jwt_like = st.builds(
    lambda h, c, s: f"{_b64(json.dumps(h).encode())}.{_b64(json.dumps(c).encode())}.{_b64(s)}",
    st.dictionaries(st.sampled_from(["alg", "kid", "typ", "crit", "jku"]), json_values),
    st.dictionaries(st.sampled_from(["iss", "aud", "exp", "nbf", "sub", "scope"]), json_values),
    st.binary(max_size=64),
)
header_values = st.text(max_size=60) | jwt_like.map(lambda t: f"Bearer {t}")


@FAST
@given(
    headers=st.dictionaries(
        st.sampled_from(["Authorization", "authorization", "X-Api-Key", "Cookie"])
        | st.text(max_size=10),
        header_values,
        max_size=4,
    ),
)
def test_random_inbound_headers_and_jwts(
    shared: acp.CredentialStore, headers: dict[str, str]
) -> None:
    for name in ("inbound-key", "inbound-jwt"):
        err = documented(lambda n=name: shared.verifier(n).verify(headers))  # type: ignore[misc]
        if err is not None:
            assert err.status_code in (401, 403), repr(err)
    _keeper_intact(shared)


@FAST
@given(jwks=json_values | st.fixed_dictionaries({"keys": st.lists(json_values, max_size=3)}))
def test_random_jwks_documents(shared: acp.CredentialStore, jwks: Any) -> None:
    doc = {"kind": "jwt", "jwks": jwks, "issuer": "https://idp"}
    if documented(lambda: shared.create("jwks", doc)) is None:
        err = documented(lambda: shared.verifier("jwks").verify({"Authorization": "Bearer a.b.c"}))
        assert err is not None and err.status_code in (401, 403, 422, 500), repr(err)
        shared.delete("jwks", force=True)
    _keeper_intact(shared)


@FAST
@given(
    url=st.builds(
        lambda scheme, host, path, query: f"{scheme}://{host}/{path}?{query}",
        st.sampled_from(["http", "https"]),
        st.from_regex(r"[a-z0-9.-]{1,30}(:[0-9]{1,5})?", fullmatch=True),
        st.text(max_size=30),
        st.text(max_size=30),
    ),
    body=st.binary(max_size=200) | st.text(max_size=100) | st.none(),
    kind=st.sampled_from(["keeper", "cloud", "query", "headers"]),
)
def test_random_urls_and_bodies_through_http_auth(
    shared: acp.CredentialStore, url: str, body: bytes | str | None, kind: str
) -> None:
    if "cloud" not in {i.name for i in shared.list()}:
        shared.create(
            "cloud",
            acp.CloudAccessKeyCredential(
                provider="aws", access_key_id="AKID", access_key_secret="s", region="us-east-1"
            ),
        )
        shared.create("query", acp.ToolApiKeyCredential(api_key="q", location="query", param="k"))
        shared.create("headers", acp.CustomHeadersCredential(headers={"X-A": "b"}))
    try:
        prepared = requests.Request("POST", url, data=body).prepare()
    except (requests.RequestException, ValueError, UnicodeError):
        assume(False)
        return
    documented(lambda: shared.http_auth(kind)(prepared))
    _keeper_intact(shared)


@pytest.fixture(scope="module")
def pristine() -> Iterator[tuple[Path, str]]:
    folder = Path(tempfile.mkdtemp())
    key = acp.generate_master_key()
    with acp.CredentialStore.open(f"sqlite:///{folder / 'good.db'}", master_key=key) as store:
        for i in range(20):
            store.create(f"c{i}", acp.ToolApiKeyCredential(api_key=f"value-{i}"))
    yield folder / "good.db", key
    shutil.rmtree(folder, ignore_errors=True)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cuts=st.lists(st.tuples(st.integers(0, 10**6), st.binary(min_size=1, max_size=16)), max_size=4),
    truncate=st.none() | st.integers(0, 10**6),
)
@example(cuts=[(65535, b"\x00\x00")], truncate=None)  # found in CI: a bare sqlite DatabaseError
@example(cuts=[(2731, b"\x80")], truncate=None)  # found in CI: a bare UnicodeDecodeError
@example(cuts=[(3004, b"0")], truncate=None)  # found in CI: a bare OperationalError (schema)
def test_corrupted_database_files(
    pristine: tuple[Path, str], cuts: list[tuple[int, bytes]], truncate: int | None
) -> None:
    good, key = pristine
    data = bytearray(good.read_bytes())
    for offset, junk in cuts:
        at = offset % len(data)
        data[at : at + len(junk)] = junk
    if truncate is not None:
        del data[truncate % len(data) :]
    with tempfile.TemporaryDirectory() as tmp:
        bad = Path(tmp) / "bad.db"
        bad.write_bytes(bytes(data))
        url = f"sqlite:///{bad}"
        try:
            store = acp.CredentialStore.open(url, master_key=key)
        except acp.CredentialError as exc:
            assert exc.status_code in (422, 500, 503), repr(exc)
            return
        try:
            for i in range(20):
                got = documented(lambda i=i: store.resolve(f"c{i}"))  # type: ignore[misc]
                if got is None:
                    value = store.resolve(f"c{i}").api_key.get_secret_value()  # type: ignore[attr-defined]
                    assert value == f"value-{i}"  # a corrupted secret never decrypts to junk
                else:
                    assert got.status_code in (404, 500, 503), repr(got)
            documented(store.list)
            documented(lambda: store.audit(limit=50))
        finally:
            # close writes the queued use events: on a damaged file that is a 503 too
            closed = documented(store.close)
            assert closed is None or closed.status_code == 503, repr(closed)
