"""The request-path helpers of a verify: raw header lookup and the JWT Principal.

Both were made faster for the per-request path; these tests pin that the fast forms behave
as the plain ones do (same values, same refusals, still immutable).
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import pytest

from agentrun_creds_plugin import AuthenticationError
from agentrun_creds_plugin.inbound.headers import normalise_headers
from agentrun_creds_plugin.inbound.principal import Principal, jwt_principal


def test_jwt_principal_equals_the_dataclass_and_stays_frozen() -> None:
    claims = MappingProxyType({"sub": "alice", "scope": "read write"})
    fast = jwt_principal("svc-jwt", claims)
    assert fast == Principal(credential="svc-jwt", kind="jwt", claims=claims)
    assert (fast.subject, fast.scopes, fast.matched, fast.username) == (
        "alice",
        ("read", "write"),
        "current",
        None,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.kind = "api_key"  # type: ignore[misc]


def test_raw_lookup_is_case_insensitive_and_refuses_a_repeat() -> None:
    raw = [(b"host", b"x"), (b"Authorization", b"Bearer t")]
    assert normalise_headers(raw).get("authorization") == "Bearer t"
    assert normalise_headers(raw).get("X-Api-Key") is None
    twice = [*raw, (b"authorization", b"Bearer u")]
    with pytest.raises(AuthenticationError, match="sent more than once"):
        normalise_headers(twice).get("Authorization")


@pytest.mark.parametrize(
    "raw",
    [
        [(b"host", b"x"), (1, 2)],
        [(b"host", b"x"), (b"authorization", "not bytes")],
        [(b"host", b"x"), (b"authorization",)],
    ],
)
def test_unreadable_raw_headers_are_a_401(raw: list[tuple[object, ...]]) -> None:
    with pytest.raises(AuthenticationError, match="headers could not be read"):
        normalise_headers(raw).get("Authorization")  # type: ignore[arg-type]


def test_an_oversized_value_is_a_401_naming_the_header() -> None:
    raw = [(b"host", b"x"), (b"authorization", b"Bearer " + b"a" * 20_000)]
    with pytest.raises(AuthenticationError, match="'Authorization' is longer than"):
        normalise_headers(raw).get("Authorization")
