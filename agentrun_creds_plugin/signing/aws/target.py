"""Which SigV4 signing name and region an AWS endpoint host implies."""

from __future__ import annotations

import re
from typing import NamedTuple


class AwsTarget(NamedTuple):
    """Signing name and region of an endpoint."""

    service: str
    region: str


_REGION_RE = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d+")
_AWS_SUFFIXES = (
    (".amazonaws.com.cn", "cn-north-1"),
    (".amazonaws.com", "us-east-1"),
    (".api.aws", None),
    (".on.aws", None),
)
# Host labels whose signing name differs from the label.
_SIGNING_NAMES = {
    "bedrock-runtime": "bedrock",
    "bedrock-agent": "bedrock",
    "bedrock-agent-runtime": "bedrock",
    "bedrock-data-automation-runtime": "bedrock",
    "email": "ses",
    "lambda-url": "lambda",
    "s3-accesspoint": "s3",
    "s3-control": "s3",
    "s3-external-1": "s3",
    "runtime-v2-lex": "lex",
    "aps-workspaces": "aps",
}
_MODIFIER_LABELS = frozenset({"dualstack", "fips"})


def _service_from_label(label: str, labels: list[str], index: int) -> str:
    if label.endswith("-fips"):
        label = label[: -len("-fips")]
    if label == "iot" and index > 0:
        previous = labels[index - 1]
        if previous.startswith("data") or previous.endswith("-ats"):
            return "iotdata"
    return _SIGNING_NAMES.get(label, label)


def _guess_target(host: str) -> tuple[str | None, str | None]:
    host = host.lower().rstrip(".")
    if host.startswith("["):
        return None, None
    host = host.partition(":")[0]
    for suffix, global_region in _AWS_SUFFIXES:
        if host.endswith(suffix):
            prefix = host[: -len(suffix)]
            default_region = global_region
            break
    else:
        return None, None
    labels = [label for label in prefix.split(".") if label]
    if not labels:
        return None, None
    region_index = None
    for i in range(len(labels) - 1, -1, -1):
        if _REGION_RE.fullmatch(labels[i]):
            region_index = i
            break
    # Legacy S3 endpoints put the region in the label: s3-eu-west-1, s3.dualstack...
    for i in range(len(labels) - 1, -1, -1):
        label = labels[i]
        if label.startswith("s3-") and _REGION_RE.fullmatch(label[3:]):
            return "s3", label[3:]
        if label == "s3-accelerate" or label.startswith("s3-accelerate."):
            return "s3", None
    if region_index is None:
        service_index = len(labels) - 1
        while service_index > 0 and labels[service_index] in _MODIFIER_LABELS:
            service_index -= 1
        return (
            _service_from_label(labels[service_index], labels, service_index),
            default_region,
        )
    region = labels[region_index]
    if region_index < len(labels) - 1:
        # <domain>.<region>.es.amazonaws.com and the like: the service follows the region.
        last = len(labels) - 1
        return _service_from_label(labels[last], labels, last), region
    service_index = region_index - 1
    while service_index >= 0 and labels[service_index] in _MODIFIER_LABELS:
        service_index -= 1
    if service_index < 0:
        return None, region
    return _service_from_label(labels[service_index], labels, service_index), region


def resolve_target(
    host: str, *, service: str | None = None, region: str | None = None
) -> AwsTarget:
    """Signing name and region for ``host``; explicit ``service``/``region`` always win.

    Handles ``<service>.<region>.amazonaws.com`` (``ec2.us-west-2.amazonaws.com``), global
    endpoints (``s3.amazonaws.com``, ``iam.amazonaws.com`` -> ``us-east-1``; ``.com.cn``
    -> ``cn-north-1``), virtual-hosted and legacy S3 hosts (``bucket.s3.eu-west-1...``,
    ``bucket.s3-eu-west-1...``, ``dualstack``), ``-fips`` labels, hosts whose service
    follows the region (``<domain>.<region>.es.amazonaws.com``) and the few endpoints
    whose signing name differs from the host label (``bedrock-runtime`` -> ``bedrock``,
    ``email`` -> ``ses``). Raises ``ValueError`` when something is still missing.
    """
    if service and region:
        return AwsTarget(service, region)
    guessed_service, guessed_region = _guess_target(host)
    service = service or guessed_service
    region = region or guessed_region
    if not service or not region:
        missing = " and ".join(
            word for word, value in (("service", service), ("region", region)) if not value
        )
        raise ValueError(f"cannot derive the AWS signing {missing} from host {host!r}")
    return AwsTarget(service, region)
