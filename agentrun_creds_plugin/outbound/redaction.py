"""Redaction of query-parameter keys in the log lines of HTTP client libraries.

A key sent in the URL shows up in httpx's, httpx2's, urllib3's and requests' own log lines
(``HTTP Request: GET https://...?key=...``). Nothing is installed at import: an adapter
switches redaction on for a parameter the first time it sends a key in it, by calling
:func:`redact_query_in_logs`, which adds one filter to those libraries' loggers.
"""

from __future__ import annotations

import logging
import re
import urllib.parse

from .plan import REDACTED

__all__ = ["REDACTED_LOGGERS", "redact_query_in_logs"]

REDACTED_LOGGERS = ("httpx", "httpx2", "urllib3.connectionpool", "requests")


class _QueryRedactor(logging.Filter):
    """Redacts registered query parameters in log records."""

    def __init__(self) -> None:
        super().__init__()
        self.params: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, param: str) -> None:
        if param not in self.params:
            self.params.add(param)
            names = "|".join(re.escape(urllib.parse.quote(p, safe="")) for p in self.params)
            self._pattern = re.compile(rf"([?&](?:{names})=)[^&\s\"'#]*")

    def filter(self, record: logging.LogRecord) -> bool:
        if self._pattern is not None:
            message = record.getMessage()
            redacted = self._pattern.sub(rf"\g<1>{REDACTED}", message)
            if redacted != message:
                record.msg, record.args = redacted, ()
        return True


_REDACTOR = _QueryRedactor()


def redact_query_in_logs(param: str) -> None:
    """From now on, the value of query parameter ``param`` is redacted in HTTP client logs."""
    if param in _REDACTOR.params:
        return
    _REDACTOR.add(param)
    for name in REDACTED_LOGGERS:
        logger = logging.getLogger(name)
        if _REDACTOR not in logger.filters:
            logger.addFilter(_REDACTOR)
