"""Signing speed: our signers vs the official vendor signers, in the same run.

Run from the repository root::

    .venv/bin/python benchmarks/bench_signing.py [--number N] [--repeat R]

Each pair first signs the same request both ways with a frozen clock (and nonce) and
asserts that the ``Authorization`` values are byte-identical, then times both with
``timeit`` and reports the median µs per signature over the repeats and the ratio
official / ours. What is timed:

* SigV4: a GET with two query parameters. Ours: ``aws.sign`` with the signing key looked
  up in a dict keyed by (date, region, service), as a caller caching it would.
  botocore: ``SigV4Auth.add_auth`` on a prebuilt ``AWSRequest`` (clock patched with a
  plain function, not a mock, so the patch itself costs nothing).
* TC3: a CVM ``DescribeInstances`` POST. Ours: ``json.dumps`` of the parameters plus
  ``tencent.sign`` with a cached signing key. Tencent: ``CommonClient.
  _build_req_with_tc3_signature`` (headers, ``json.dumps``, signature; clock patched).
* ACS3: an ECS ``DescribeInstances`` GET with two query parameters. Both sides read the
  clock and make a fresh nonce. Ours: ``datetime.now`` plus ``aliyun.sign``. Alibaba:
  the header preparation ``alibabacloud-tea-openapi`` does (timestamp, nonce, payload
  hash) plus ``Client.get_authorization``.

This is a benchmark, not a test: it asserts equal output, never timings.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import timeit
import types
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import botocore.auth  # noqa: E402
from alibabacloud_openapi_util.client import Client as AlibabaUtil  # noqa: E402
from alibabacloud_tea_util.client import Client as TeaUtil  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402
from tencentcloud.common import abstract_client  # noqa: E402
from tencentcloud.common.common_client import CommonClient  # noqa: E402
from tencentcloud.common.credential import Credential  # noqa: E402
from tencentcloud.common.http.request import RequestInternal  # noqa: E402

from agentrun_creds_plugin.signing import aliyun, aws, tencent  # noqa: E402

NOW = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
AK = "AKIDEXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


def _median_us(fn: Callable[[], object], number: int, repeat: int) -> float:
    runs = timeit.repeat(fn, number=number, repeat=repeat)
    return statistics.median(runs) / number * 1e6


# ----------------------------------------------------------------------------- SigV4


def bench_sigv4(number: int, repeat: int) -> tuple[float, float]:
    url = "https://ec2.us-west-2.amazonaws.com/?Action=DescribeInstances&Version=2016-11-15"
    key_cache: dict[tuple[str, str, str], bytes] = {}

    def ours() -> list[tuple[str, str]]:
        cache_key = (aws.date_stamp(NOW), "us-west-2", "ec2")
        key = key_cache.get(cache_key)
        if key is None:
            key = key_cache[cache_key] = aws.derive_signing_key(SK, *cache_key)
        return aws.sign(
            "GET",
            url,
            access_key_id=AK,
            secret_access_key=SK,
            now=NOW,
            service="ec2",
            region="us-west-2",
            signing_key=key,
        )

    signer = botocore.auth.SigV4Auth(Credentials(AK, SK), "ec2", "us-west-2")
    request = AWSRequest(method="GET", url=url)
    naive_now = NOW.replace(tzinfo=None)
    original = botocore.auth.get_current_datetime
    botocore.auth.get_current_datetime = lambda: naive_now  # type: ignore[assignment]
    try:
        signer.add_auth(request)
        ours_auth = dict(ours())["Authorization"]
        assert request.headers["Authorization"] == ours_auth, (
            request.headers["Authorization"],
            ours_auth,
        )
        theirs_us = _median_us(lambda: signer.add_auth(request), number, repeat)
    finally:
        botocore.auth.get_current_datetime = original
    return _median_us(ours, number, repeat), theirs_us


# ------------------------------------------------------------------------------- TC3


def bench_tc3(number: int, repeat: int) -> tuple[float, float]:
    params: dict[str, Any] = {"Limit": 10, "Offset": 0}
    timestamp = int(NOW.timestamp())
    host = "cvm.tencentcloudapi.com"
    key_cache: dict[tuple[str, str], bytes] = {}
    base_headers = [
        ("Content-Type", "application/json"),
        ("X-TC-Action", "DescribeInstances"),
        ("X-TC-Version", "2017-03-12"),
        ("X-TC-Region", "ap-guangzhou"),
    ]

    def ours() -> list[tuple[str, str]]:
        body = json.dumps(params)
        cache_key = (tencent.credential_date(timestamp), "cvm")
        key = key_cache.get(cache_key)
        if key is None:
            key = key_cache[cache_key] = tencent.derive_signing_key(SK, *cache_key)
        return tencent.sign(
            "POST",
            f"https://{host}/",
            base_headers,
            body,
            secret_id=AK,
            secret_key=SK,
            now=NOW,
            signing_key=key,
        )

    client = CommonClient("cvm", "2017-03-12", Credential(AK, SK), "ap-guangzhou")

    def theirs() -> RequestInternal:
        req = RequestInternal(host, "POST", "/")
        client._build_req_with_tc3_signature("DescribeInstances", params, req)
        return req

    original = abstract_client.time
    abstract_client.time = types.SimpleNamespace(time=lambda: float(timestamp))  # type: ignore[assignment]
    try:
        ours_auth = dict(ours())["Authorization"]
        theirs_auth = theirs().header["Authorization"]
        assert theirs_auth == ours_auth, (theirs_auth, ours_auth)
        theirs_us = _median_us(theirs, number, repeat)
    finally:
        abstract_client.time = original
    return _median_us(ours, number, repeat), theirs_us


# ------------------------------------------------------------------------------ ACS3


class _AlibabaRequest:
    """The attributes ``get_authorization`` reads (tea-openapi passes a TeaRequest)."""

    def __init__(self, headers: dict[str, str], query: dict[str, str]) -> None:
        self.method = "GET"
        self.pathname = "/"
        self.headers = headers
        self.query = query


def bench_acs3(number: int, repeat: int) -> tuple[float, float]:
    host = "ecs.cn-hangzhou.aliyuncs.com"
    query = {"RegionId": "cn-hangzhou", "PageSize": "10"}
    url = f"https://{host}/?RegionId=cn-hangzhou&PageSize=10"
    algorithm = "ACS3-HMAC-SHA256"

    def alibaba_auth(timestamp: str, nonce: str) -> str:
        headers = {
            "host": host,
            "x-acs-version": "2014-05-26",
            "x-acs-action": "DescribeInstances",
            "x-acs-date": timestamp,
            "x-acs-signature-nonce": nonce,
            "accept": "application/json",
        }
        payload = AlibabaUtil.hex_encode(AlibabaUtil.hash(b"", algorithm))
        headers["x-acs-content-sha256"] = payload
        return str(
            AlibabaUtil.get_authorization(
                _AlibabaRequest(headers, query), algorithm, payload, AK, SK
            )
        )

    def ours_at(now: datetime, nonce: str | None) -> list[tuple[str, str]]:
        return aliyun.sign(
            "GET",
            url,
            [("Accept", "application/json")],
            access_key_id=AK,
            access_key_secret=SK,
            now=now,
            nonce=nonce,
            action="DescribeInstances",
            version="2014-05-26",
            sign_all_headers=True,  # the official SDK signs every header it sends
        )

    nonce = "0123456789abcdef0123456789abcdef"
    ours_auth = dict(ours_at(NOW, nonce))["Authorization"]
    theirs_auth = alibaba_auth(aliyun.acs_date(NOW), nonce)
    assert theirs_auth == ours_auth, (theirs_auth, ours_auth)

    def theirs() -> str:
        return alibaba_auth(AlibabaUtil.get_timestamp(), TeaUtil.get_nonce())

    def ours() -> list[tuple[str, str]]:
        return ours_at(datetime.now(UTC), None)

    return _median_us(ours, number, repeat), _median_us(theirs, number, repeat)


# ------------------------------------------------------------------------------ main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--number", type=int, default=5000, help="signatures per timing run")
    parser.add_argument("--repeat", type=int, default=7, help="timing runs per signer")
    args = parser.parse_args()

    rows = [
        ("AWS SigV4 (GET, 2 query params)", "botocore SigV4Auth.add_auth", 4.0, bench_sigv4),
        (
            "Tencent TC3 (POST JSON)",
            "CommonClient._build_req_with_tc3_signature",
            2.0,
            bench_tc3,
        ),
        ("Alibaba ACS3 (GET, 2 query params)", "prep + get_authorization", 2.0, bench_acs3),
    ]
    print(
        f"timeit: {args.number} signatures x {args.repeat} runs, median run; "
        f"Python {sys.version.split()[0]}; Authorization outputs asserted byte-identical\n"
    )
    header = f"{'request':36} {'official signer':44} {'ours µs':>8} {'theirs µs':>10} {'ratio':>6} {'target':>7}"
    print(header)
    print("-" * len(header))
    for name, official, target, bench in rows:
        ours_us, theirs_us = bench(args.number, args.repeat)
        ratio = theirs_us / ours_us
        flag = "ok" if ratio >= target else "MISSED"
        print(
            f"{name:36} {official:44} {ours_us:8.2f} {theirs_us:10.2f} "
            f"{ratio:5.1f}x {f'>={target:.0f}x':>5} {flag}"
        )


if __name__ == "__main__":
    main()
