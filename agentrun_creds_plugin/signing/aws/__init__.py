"""AWS Signature Version 4 (``AWS4-HMAC-SHA256``): header signing and presigned URLs.

Pure functions: the clock is an argument, nothing is read from the environment and
nothing is cached here. The intermediate steps are public so that a mismatch can be
located at the canonical-request stage, where it is easiest to see.

Rules that differ between services, and how they are chosen:

* **Path**: every service except S3 normalizes the path (dot segments, empty segments)
  and URI-encodes the wire path again, so ``/a%20b`` is signed as ``/a%2520b``. S3 does
  neither; its path is signed encoded exactly once. ``s3=None`` picks S3 rules for the
  S3 signing names.
* **Query**: each raw name and value is decoded and re-encoded with RFC 3986 (``%20`` for
  space, ``+`` is a literal plus and becomes ``%2B``), then pairs are sorted by name and
  value. Repeated keys are kept.
* **Headers**: every header is signed except the ones proxies may rewrite (botocore's
  list); values are trimmed and inner whitespace runs collapse to one space; repeated
  headers are joined with ``,`` in received order.
* **Payload**: ``sha256(body)``, or the literal ``UNSIGNED-PAYLOAD``; S3 also gets it in
  ``X-Amz-Content-SHA256``.

The implementation is split by concept: :mod:`.canonical` (constants and the individual
steps), :mod:`.target` (service and region from the host), :mod:`.headers` (header
signing) and :mod:`.presign` (presigned URLs), :mod:`.signer` (the registry's
:class:`~agentrun_creds_plugin.signing.Signer`). This package re-exports all of them, so
``from agentrun_creds_plugin.signing import aws; aws.sign(...)`` is the way to use it.
"""

from __future__ import annotations

from .._request import canonical_request
from .canonical import (
    ALGORITHM,
    MAX_PRESIGN_EXPIRES,
    S3_SERVICES,
    UNSIGNED_HEADERS,
    UNSIGNED_PAYLOAD,
    amz_date,
    authorization_header,
    canonical_headers,
    canonical_query_string,
    canonical_request_for,
    canonical_uri,
    credential_scope,
    date_stamp,
    derive_signing_key,
    normalize_path,
    signature,
    string_to_sign,
)
from .headers import SigningResult, SigV4Options, sign, sign_request
from .presign import PresignResult, presign_request, presign_url
from .signer import AwsSigner
from .target import AwsTarget, resolve_target

__all__ = [
    "ALGORITHM",
    "MAX_PRESIGN_EXPIRES",
    "S3_SERVICES",
    "UNSIGNED_HEADERS",
    "UNSIGNED_PAYLOAD",
    "AwsSigner",
    "AwsTarget",
    "PresignResult",
    "SigV4Options",
    "SigningResult",
    "amz_date",
    "authorization_header",
    "canonical_headers",
    "canonical_query_string",
    "canonical_request",
    "canonical_request_for",
    "canonical_uri",
    "credential_scope",
    "date_stamp",
    "derive_signing_key",
    "normalize_path",
    "presign_request",
    "presign_url",
    "resolve_target",
    "sign",
    "sign_request",
    "signature",
    "string_to_sign",
]
