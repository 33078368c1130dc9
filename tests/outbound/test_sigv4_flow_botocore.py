"""The whole SigV4 flow of ``store.http_auth`` signs byte-for-byte what botocore signs.

Each request goes through the real flow (resolve from the store, plan, headers set on the
``httpx2`` / ``requests`` request) with a frozen clock, and botocore's ``SigV4Auth.add_auth``
signs the same request; the signing headers must be identical.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import botocore.auth
import httpx2
import pytest
import requests
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.outbound import aws_flow
from agentrun_creds_plugin.outbound import plan as plan_module

AK = "AKIDEXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "FwoGZXIvYXdzEXAMPLETOKEN//////////wEaDExample"
NOW = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)

CASES = [
    (
        "GET",
        "https://ec2.us-west-2.amazonaws.com/?Action=DescribeInstances&Version=2016-11-15",
        {},
        b"",
        "ec2",
        "us-west-2",
    ),
    (
        "POST",
        "https://sts.us-east-1.amazonaws.com/",
        {"Content-Type": "application/x-www-form-urlencoded"},
        b"Action=GetCallerIdentity&Version=2011-06-15",
        "sts",
        "us-east-1",
    ),
    (
        "POST",
        "https://dynamodb.eu-west-1.amazonaws.com/",
        {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
        },
        b'{"Limit": 5}',
        "dynamodb",
        "eu-west-1",
    ),
    (
        "GET",
        "https://logs.ap-southeast-1.amazonaws.com/a%20b/c?b=2&a=1&a=0&sp=x%20y",
        {"X-Custom": "spaced   value"},
        b"",
        "logs",
        "ap-southeast-1",
    ),
]


class _FrozenTime:
    @staticmethod
    def time() -> float:
        return NOW.timestamp()


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan_module, "time", _FrozenTime)
    monkeypatch.setattr(aws_flow, "time", _FrozenTime)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: NOW.replace(tzinfo=None))


def _botocore(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    service: str,
    region: str,
    token: str | None,
) -> dict[str, str]:
    request = AWSRequest(method=method, url=url, headers=dict(headers), data=body)
    botocore.auth.SigV4Auth(Credentials(AK, SK, token), service, region).add_auth(request)
    wanted = ("Authorization", "X-Amz-Date", "X-Amz-Security-Token")
    return {k: request.headers[k] for k in wanted if k in request.headers}


def _signing_headers(headers: Any) -> dict[str, str]:
    wanted = ("Authorization", "X-Amz-Date", "X-Amz-Security-Token")
    return {k: headers[k] for k in wanted if k in headers}


@pytest.mark.parametrize("token", [None, TOKEN])
@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{c[4]}" for c in CASES])
def test_http_auth_flow_matches_botocore(
    store: acp.CredentialStore, frozen: None, case: tuple[Any, ...], token: str | None
) -> None:
    method, url, headers, body, service, region = case
    store.create(
        "aws",
        acp.CloudAccessKeyCredential(
            provider="aws", access_key_id=AK, access_key_secret=SK, security_token=token
        ),
    )
    auth = store.http_auth("aws")

    request = httpx2.Request(method, url, headers=headers, content=body)
    # botocore signs only what it is given: give it the headers httpx2 will send
    sent = {k: v for k, v in request.headers.items() if k.lower() != "host"}
    expected = _botocore(method, url, sent, body, service, region, token)
    flow = auth.sync_auth_flow(request)  # kept open: once sent, the flow redacts its headers
    signed = next(flow)
    assert _signing_headers(signed.headers) == expected
    flow.close()

    prepared = requests.Request(method, url, headers=headers, data=body).prepare()
    sent = dict(prepared.headers)
    expected = _botocore(method, url, sent, body, service, region, token)
    assert _signing_headers(auth(prepared).headers) == expected
