"""Pure request signers: AWS SigV4, Alibaba Cloud ACS3 and Tencent Cloud TC3.

One module per provider (:mod:`.aws`, :mod:`.aliyun`, :mod:`.tencent`), each with the
individual canonicalization steps, a ``sign(...)`` returning the headers to set, and a
``resolve_target(...)`` deriving service/region from the host. No I/O, no clock reads:
the time is an argument. Standard library only.

Every provider also offers the one :class:`Signer` shape (:mod:`.base`): a
:class:`SigningRequest`, an :class:`AccessKey` and :class:`SigningOptions` in, headers out.
:mod:`.registry` maps provider names to signers; :func:`register_signer` adds a third
party's, :func:`get_signer` finds one.
"""

from . import aliyun, aws, tencent
from ._request import Request
from .base import (
    AccessKey,
    ScopedKeyCache,
    Signer,
    SigningOptions,
    SigningRequest,
    StreamingBodyError,
    uncached,
)
from .registry import (
    UnknownProviderError,
    get_signer,
    known_providers,
    register_signer,
    unregister_signer,
)

__all__ = [
    "AccessKey",
    "Request",
    "ScopedKeyCache",
    "Signer",
    "SigningOptions",
    "SigningRequest",
    "StreamingBodyError",
    "UnknownProviderError",
    "aliyun",
    "aws",
    "get_signer",
    "known_providers",
    "register_signer",
    "tencent",
    "uncached",
    "unregister_signer",
]
