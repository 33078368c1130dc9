"""Every vector of ``signing.json``, one test per (vector, expected field).

Each field the vector pins (canonical request, string to sign, signature, Authorization,
signed URL or request, derived keys) is a separate test, so a failure names the stage.
Intermediate values come from the step functions; ``authorization``, ``signed_url`` and
``signed_request`` come from the top-level ``sign``/``presign_url`` functions, whose
intermediates must also agree with the step functions.

Vectors listed in ``unsupported.json`` are strict xfails, and
:func:`test_unsupported_list_is_exact` pins that list to the vectors whose algorithm has
no signer here, so nothing is skipped silently.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import cache
from typing import Any
from urllib.parse import quote

import pytest

from agentrun_creds_plugin.signing import Request, aliyun, aws, tencent
from agentrun_creds_plugin.signing._hmac import hmac_sha256
from agentrun_creds_plugin.signing._request import split_url
from tests.signing.vectors import (
    aws_flags,
    aws_headers_after_signing,
    body_of,
    headers_of,
    load_vectors,
    parse_raw_request,
    signing_time,
    unsupported,
    vector,
)


class UnsupportedAlgorithmError(LookupError):
    """The vector's algorithm has no signer in this library."""


Computed = dict[str, Any]


# ------------------------------------------------------------------------------- AWS


def _dump(request: Request, target: str) -> str:
    lines = [f"{request.method} {target} HTTP/1.1", *(f"{n}:{v}" for n, v in request.headers)]
    return "\n".join(lines) + "\n\n" + request.body.decode()


def _run_aws(item: dict[str, Any]) -> Computed:
    flags = aws_flags(item)
    creds = item["credentials"]
    request = item["request"]
    now = signing_time(item)
    timestamp = aws.amz_date(now)
    assert timestamp == item["timestamp"]["x-amz-date"]
    scope = aws.credential_scope(aws.date_stamp(now), flags["region"], flags["service"])
    key = aws.derive_signing_key(
        creds["secret_access_key"], aws.date_stamp(now), flags["region"], flags["service"]
    )
    common = {
        "access_key_id": creds["access_key_id"],
        "secret_access_key": creds["secret_access_key"],
        "now": now,
        "session_token": creds.get("session_token"),
        "service": flags["service"],
        "region": flags["region"],
        "s3": flags["s3"],
        "normalize_path": flags["normalize_path"],
        "omit_session_token": flags["omit_session_token"],
    }
    out: Computed = {"signing_key_hex": key.hex()}
    result: aws.SigningResult | aws.PresignResult
    if flags["expires"] is not None:
        unsigned = flags["unsigned_payload"] or None
        wire = Request.from_url(request["method"], request["url"], headers_of(item), body_of(item))
        block, signed = aws.canonical_headers(wire.headers, wire.host)
        auth_query = [
            ("X-Amz-Algorithm", aws.ALGORITHM),
            ("X-Amz-Credential", quote(f"{creds['access_key_id']}/{scope}", safe="")),
            ("X-Amz-Date", timestamp),
            ("X-Amz-Expires", str(flags["expires"])),
            ("X-Amz-SignedHeaders", quote(signed, safe="")),
        ]
        token = creds.get("session_token")
        if token and not flags["omit_session_token"]:
            auth_query.append(("X-Amz-Security-Token", quote(token, safe="")))
        payload = aws.UNSIGNED_PAYLOAD if unsigned else None
        creq = aws.canonical_request(
            wire.method,
            aws.canonical_uri(wire.path, s3=flags["s3"], normalize=flags["normalize_path"]),
            aws.canonical_query_string([*wire.query, *auth_query]),
            block,
            signed,
            payload or hashlib.sha256(wire.body).hexdigest(),
        )
        result = aws.presign_request(
            wire, expires=flags["expires"], unsigned_payload=unsigned, **common
        )
        url = aws.presign_url(
            request["method"],
            request["url"],
            headers_of(item),
            body_of(item),
            expires=flags["expires"],
            unsigned_payload=unsigned,
            signing_key=key,
            **common,
        )
        out["signed_url"] = url
        _, _, path, raw_query = split_url(url)
        out["signed_request"] = parse_raw_request(_dump(wire, f"{path}?{raw_query}"))
    else:
        final = Request.from_url(
            request["method"], request["url"], aws_headers_after_signing(item, flags), body_of(item)
        )
        creq, _ = aws.canonical_request_for(
            final,
            payload_hash=aws.UNSIGNED_PAYLOAD if flags["unsigned_payload"] else None,
            s3=flags["s3"],
            normalize=flags["normalize_path"],
        )
        wire = Request.from_url(request["method"], request["url"], headers_of(item), body_of(item))
        signed_result = result = aws.sign_request(
            wire,
            unsigned_payload=flags["unsigned_payload"],
            add_content_sha256=flags["add_content_sha256"],
            **common,
        )
        added = aws.sign(
            request["method"],
            request["url"],
            headers_of(item),
            body_of(item),
            unsigned_payload=flags["unsigned_payload"],
            add_content_sha256=flags["add_content_sha256"],
            signing_key=key,
            **common,
        )
        assert added == signed_result.headers
        authorization = dict(added)["Authorization"]
        expected_auth = item["expected"].get("authorization", "")
        if expected_auth and ", SignedHeaders=" not in expected_auth:
            # The S3 doc writes the Authorization components with "," and no space;
            # servers accept both, so compare the components.
            authorization = authorization.replace(", ", ",")
        out["authorization"] = authorization
        target = f"{wire.path}?{wire.raw_query}" if wire.query else wire.path
        out["signed_request"] = parse_raw_request(_dump(wire.with_headers(added), target))

    sts = aws.string_to_sign(timestamp, scope, creq)
    out["canonical_request"] = creq
    out["string_to_sign"] = sts
    out["signature"] = aws.signature(key, sts)
    assert (result.canonical_request, result.string_to_sign, result.signature) == (
        creq,
        sts,
        out["signature"],
    ), "top-level signer disagrees with the step functions"
    return out


# ----------------------------------------------------------------------------- Alibaba


def _run_acs3(item: dict[str, Any]) -> Computed:
    creds = item["credentials"]
    request = item["request"]
    # The official SDK signs every header it sends; the doc example sends only the
    # required ones, so signing all of them reproduces both.
    sign_all = item["expected_from"] == "official-signer"
    wire = Request.from_url(request["method"], request["url"], headers_of(item), body_of(item))
    creq, _ = aliyun.canonical_request_for(wire, sign_all_headers=sign_all)
    sts = aliyun.string_to_sign(creq)
    added = aliyun.sign(
        request["method"],
        request["url"],
        headers_of(item),
        body_of(item),
        access_key_id=creds["access_key_id"],
        access_key_secret=creds["access_key_secret"],
        now=signing_time(item),
        nonce=item["nonce"],
        security_token=creds.get("security_token"),
        sign_all_headers=sign_all,
    )
    result = aliyun.sign_request(
        wire,
        access_key_id=creds["access_key_id"],
        access_key_secret=creds["access_key_secret"],
        now=signing_time(item),
        nonce=item["nonce"],
        security_token=creds.get("security_token"),
        sign_all_headers=sign_all,
    )
    signature = aliyun.signature(creds["access_key_secret"], sts)
    assert (result.canonical_request, result.string_to_sign, result.signature) == (
        creq,
        sts,
        signature,
    ), "top-level signer disagrees with the step functions"
    assert added == result.headers
    given = {name.lower(): value for name, value in headers_of(item)}
    for name, value in added[:-1]:
        assert given[name.lower()] == value, f"sign() set {name} differently from the vector"
    return {
        "canonical_request": creq,
        "string_to_sign": sts,
        "signature": signature,
        "authorization": dict(added)["Authorization"],
    }


# ----------------------------------------------------------------------------- Tencent


def _run_tc3(item: dict[str, Any]) -> Computed:
    creds = item["credentials"]
    request = item["request"]
    signing = item["signing"]
    signed_headers = tuple(signing["signed_headers"].split(";"))
    unsigned = bool(signing.get("unsigned_payload"))
    now = signing_time(item)
    timestamp = int(now.timestamp())
    date = tencent.credential_date(timestamp)
    assert date == item["timestamp"]["credential_date_utc"] == tencent.credential_date(now)
    wire = Request.from_url(request["method"], request["url"], headers_of(item), body_of(item))
    creq, _ = tencent.canonical_request_for(
        wire, signed_headers=signed_headers, unsigned_payload=unsigned
    )
    scope = tencent.credential_scope(date, signing["service"])
    sts = tencent.string_to_sign(timestamp, scope, creq)
    key = tencent.derive_signing_key(creds["secret_key"], date, signing["service"])
    signature = tencent.signature(key, sts)
    kwargs: dict[str, Any] = {
        "secret_id": creds["secret_id"],
        "secret_key": creds["secret_key"],
        "now": now,
        "token": creds.get("token"),
        "service": signing["service"],
        "signed_headers": signed_headers,
        "unsigned_payload": unsigned,
    }
    result = tencent.sign_request(wire, **kwargs)
    assert (result.canonical_request, result.string_to_sign, result.signature) == (
        creq,
        sts,
        signature,
    ), "top-level signer disagrees with the step functions"
    added = tencent.sign(
        request["method"], request["url"], headers_of(item), body_of(item), **kwargs
    )
    assert added == result.headers
    # Derivation as the service is left to the host: cvm.tencentcloudapi.com -> cvm.
    del kwargs["service"]
    assert (
        tencent.sign(request["method"], request["url"], headers_of(item), body_of(item), **kwargs)
        == added
    )
    secret_date = hmac_sha256(f"TC3{creds['secret_key']}".encode(), date.encode())
    secret_service = hmac_sha256(secret_date, signing["service"].encode())
    return {
        "canonical_request": creq,
        "string_to_sign": sts,
        "signature": signature,
        "authorization": dict(added)["Authorization"],
        "secret_date_hex": secret_date.hex(),
        "secret_service_hex": secret_service.hex(),
        "secret_signing_hex": key.hex(),
    }


# ---------------------------------------------------------------------------- dispatch

RUNNERS: dict[str, Callable[[dict[str, Any]], Computed]] = {
    "AWS4-HMAC-SHA256": _run_aws,
    "ACS3-HMAC-SHA256": _run_acs3,
    "TC3-HMAC-SHA256": _run_tc3,
}


@cache
def computed(vector_id: str) -> Computed:
    item = vector(vector_id)
    runner = RUNNERS.get(item["algorithm"])
    if runner is None:
        raise UnsupportedAlgorithmError(f"no signer for {item['algorithm']}")
    return runner(item)


def _expected_value(item: dict[str, Any], field: str) -> Any:
    value = item["expected"][field]
    if field == "signed_request":
        return parse_raw_request(value)
    return value


def _cases() -> list[Any]:
    cases = []
    skipped = unsupported()
    for item in load_vectors():
        for field in item["expected"]:
            marks = []
            if item["id"] in skipped:
                marks.append(
                    pytest.mark.xfail(
                        reason=skipped[item["id"]],
                        raises=UnsupportedAlgorithmError,
                        strict=True,
                    )
                )
            cases.append(pytest.param(item["id"], field, id=f"{item['id']}:{field}", marks=marks))
    return cases


@pytest.mark.parametrize(("vector_id", "field"), _cases())
def test_vector_field(vector_id: str, field: str) -> None:
    item = vector(vector_id)
    result = computed(vector_id)
    assert field in result, f"the runner does not compute {field!r}"
    assert result[field] == _expected_value(item, field)


def test_unsupported_list_is_exact() -> None:
    """unsupported.json lists exactly the vectors without a signer, each with a reason."""
    without_signer = {item["id"] for item in load_vectors() if item["algorithm"] not in RUNNERS}
    listed = unsupported()
    assert set(listed) == without_signer
    assert all(reason.strip() for reason in listed.values())


def test_every_vector_is_covered() -> None:
    """All 81 vectors are parametrized, and every provider group in the file is present."""
    items = load_vectors()
    assert len(items) == 81
    groups = {item["id"].split("/")[0] for item in items}
    assert {
        "aws-sigv4-suite",
        "aws-sigv4-crt",
        "aws-s3-doc",
        "aws-doc",
        "aws-oracle",
        "alibaba-v3-doc",
        "alibaba-v3-oracle",
        "tencent-tc3-doc",
        "tencent-tc3-oracle",
    } <= groups
