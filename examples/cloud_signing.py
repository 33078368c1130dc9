"""Call a cloud API with an AK/SK credential: the store signs each request (AWS SigV4 here).

The "cloud" is a loopback server that knows the secret and recomputes the signature itself with
botocore, so it accepts only a correctly signed request. The secret never leaves the store in
this script: ``store.http_auth(name)`` resolves and signs on every request.

    python examples/cloud_signing.py
"""

from __future__ import annotations

import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.crypto import generate_master_key

KEY_ID, SECRET, REGION, SERVICE = (
    "AKIDEXAMPLE",
    "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "eu-west-1",
    "execute-api",
)


def expected_signature(method: str, url: str, headers: dict[str, str], body: bytes) -> str:
    """What the signature must be, computed by botocore over the headers the client signed."""
    auth = headers["authorization"]
    signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
    request = AWSRequest(method=method, url=url, data=body, headers={h: headers[h] for h in signed})
    request.context["timestamp"] = headers["x-amz-date"]
    signer = SigV4Auth(Credentials(KEY_ID, SECRET), SERVICE, REGION)
    string_to_sign = signer.string_to_sign(request, signer.canonical_request(request))
    return str(signer.signature(string_to_sign, request))


class CloudAPI(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        headers = {k.lower(): v for k, v in self.headers.items()}
        url = f"http://{headers['host']}{self.path}"
        got = headers.get("authorization", "").rsplit("Signature=", 1)[-1]
        ok = KEY_ID in headers.get("authorization", "") and got == expected_signature(
            "POST", url, headers, body
        )
        self.send_response(200 if ok else 403)
        self.end_headers()
        self.wfile.write(b'{"instances": 3}' if ok else b"SignatureDoesNotMatch")

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), CloudAPI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    with tempfile.TemporaryDirectory() as tmp:
        store = acp.CredentialStore.open(
            f"sqlite:///{Path(tmp) / 'creds.db'}", master_key=generate_master_key()
        )
        cred = acp.CloudAccessKeyCredential(
            provider="aws", access_key_id=KEY_ID, access_key_secret=SECRET
        )
        store.create("aws-key", cred)
        auth = store.http_auth("aws-key", service=SERVICE, region=REGION, resource="tool:inventory")
        signed = httpx.post(
            f"{base}/prod/instances?state=running", content=b'{"limit": 10}', auth=auth
        )
        print(f"signed request -> {signed.status_code} {signed.text}")
        unsigned = httpx.post(f"{base}/prod/instances?state=running", content=b'{"limit": 10}')
        print(f"unsigned request -> {unsigned.status_code} {unsigned.text}")
        store.close()
    server.shutdown()


if __name__ == "__main__":
    main()
