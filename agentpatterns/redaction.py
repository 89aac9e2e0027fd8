"""Secrets kept out of what the package prints, raises and stores.

Runs hold users' conversations and the errors of model calls; a server that echoes the API
key in a 401 body must not get it printed by the command line or saved in a checkpoint.
"""

from __future__ import annotations

import os
import re

__all__ = ["redact"]


_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSW(OR)?D|CREDENTIAL|AUTH", re.IGNORECASE)
_SECRET_SHAPES = (
    # OpenAI-style keys (sk-..., sk-proj-...)
    (re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}"), "sk-***"),
    # credentials in a URL: scheme://user:password@host
    (re.compile(r"(://[^/@:\s]*):[^/@\s]*@"), r"\1:***@"),
    # key=value DSN passwords (libpq), bearer tokens in echoed headers
    (re.compile(r"(?i)\b(password\s*=\s*)[^&\s]+"), r"\1***"),
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/\-]{8,}=*"), r"\1***"),
)


def redact(text: str) -> str:
    """``text`` with secrets replaced by ``***``, for messages, output and stored errors.

    Redacted: the values of environment variables whose names say they are secret
    (``OPENAI_API_KEY``, ``*_TOKEN``, ``*_SECRET``, ``*PASSWORD``...; values of 8+
    characters), ``sk-...`` key shapes, passwords in URLs (``scheme://user:pass@host``) and
    DSNs (``password=...``), and bearer tokens.

    Example:
        >>> redact("401 for key sk-abcdefghijklmnop at http://bob:hunter2@host/v1")
        '401 for key sk-*** at http://bob:***@host/v1'
    """
    for name, value in os.environ.items():
        if len(value) >= 8 and _SECRET_NAME.search(name) and value in text:
            text = text.replace(value, "***")
    for pattern, replacement in _SECRET_SHAPES:
        text = pattern.sub(replacement, text)
    return text
