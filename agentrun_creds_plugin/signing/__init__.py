"""Pure request signers: AWS SigV4, Alibaba Cloud ACS3 and Tencent Cloud TC3.

One module per provider (:mod:`.aws`, :mod:`.aliyun`, :mod:`.tencent`), each with the
individual canonicalization steps, a ``sign(...)`` returning the headers to set, and a
``resolve_target(...)`` deriving service/region from the host. No I/O, no clock reads:
the time is an argument. Standard library only.
"""

from . import aliyun, aws, tencent
from ._request import Request

__all__ = ["Request", "aliyun", "aws", "tencent"]
