"""Secrets kept out of what the package prints, raises and stores.

Runs hold users' conversations and the errors of model calls; a server that echoes the API
key in a 401 body must not get it printed by the command line or saved in a checkpoint.
"""

from __future__ import annotations

import os
import re
import threading
from typing import Any

__all__ = ["RedactedError", "redact", "redacted_error", "remember_secrets"]


_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSW(OR)?D|CREDENTIAL|AUTH", re.IGNORECASE)
# names a credential goes by in a header, a JSON body, a form or a query string
_SECRET_FIELD = (r"(?:x[-_])?api[-_]?key|apikey|(?:access|refresh|auth|id|session)[-_]?token"
                 r"|client[-_]?secret|secret[-_]?key|secret|password|passwd|private[-_]?key")
_SECRET_SHAPES = (
    # OpenAI-style keys (sk-..., sk-proj-..., sk-ant-...)
    (re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}"), "sk-***"),
    # other providers' key shapes: Google (AIza...), GitHub (ghp_..., github_pat_...), Slack
    # (xoxb-...), Hugging Face (hf_...), Groq (gsk_...), AWS access key ids (AKIA...)
    (re.compile(r"\b(?:AIza[0-9A-Za-z_\-]{30,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_\w{20,}"
                r"|xox[abposr]-[A-Za-z0-9\-]{10,}|hf_[A-Za-z0-9]{20,}|gsk_[A-Za-z0-9]{20,}"
                r"|(?:AKIA|ASIA)[0-9A-Z]{16})\b"), "***"),
    # credentials in a URL: scheme://user:password@host
    (re.compile(r"(://[^/@:\s]*):[^/@\s]*@"), r"\1:***@"),
    # a credential-named field: `api-key: ...`, `"api_key": "..."`, `access_token=...`,
    # `password=...` (libpq DSNs, forms, query strings, JSON error bodies, headers)
    (re.compile(r"(?i)(\b(?:" + _SECRET_FIELD + r")[\"']?\s*[:=]\s*[\"']?)"
                r"(?!\*\*\*)[^\"'&\s,;}]{4,}"), r"\1***"),
    # a key or token as a URL query parameter (`?key=...`, `&token=...`, `&sig=...`)
    (re.compile(r"(?i)([?&](?:key|token|sig|signature|code)=)[^&\s\"'#]{4,}"), r"\1***"),
    # Authorization header values: bearer tokens, basic credentials, `token ...`
    (re.compile(r"(?i)\b((?:bearer|basic)\s+)[A-Za-z0-9._~+/\-]{8,}=*"), r"\1***"),
    (re.compile(r"(?i)(\bauthorization[\"']?\s*[:=]\s*[\"']?(?:token\s+)?)"
                r"(?!(?:bearer|basic)\s)(?!\*\*\*)[^\"'\s,;}]{8,}"), r"\1***"),
)


#: Credentials of models whose calls failed in this process (see :func:`remember_secrets`).
_known: dict[str, None] = {}
_KNOWN_MAX = 64
_known_lock = threading.Lock()


def _credentials(obj: Any, depth: int, seen: set[int]) -> list[str]:
    # SecretStr fields (pydantic models: LangChain's chat models), str attributes named like
    # a credential, and the same inside attributes naming a client (the SDK client inside)
    if id(obj) in seen or depth < 0:
        return []
    seen.add(id(obj))
    try:
        attrs = dict(vars(obj))
    except TypeError:
        return []
    found = []
    for name, value in attrs.items():
        secret = getattr(value, "get_secret_value", None)
        if callable(secret):
            try:
                value = secret()
            except Exception:  # not a secret holder after all
                continue
            if isinstance(value, str):
                found.append(value)
        elif isinstance(value, str):
            if _SECRET_NAME.search(name):
                found.append(value)
        elif "client" in name.lower() and value is not None:
            found.extend(_credentials(value, depth - 1, seen))
    return found


def remember_secrets(obj: Any) -> None:
    """Redact, from now on in this process, the credentials ``obj`` holds.

    A key given in code (``ChatOpenAI(api_key=...)``, an Azure key) is in no environment
    variable and may have no known shape; a server that echoes it in an error body would
    otherwise get it printed and stored. The drivers call this with the model whose call
    failed, before its error is reported or journaled.

    Args:
        obj: A chat model or client: its ``SecretStr`` fields and attributes named like a
            credential (``api_key``, ``*_token``...), also those of its clients.
    """
    values = [v for v in _credentials(obj, 3, set()) if len(v) >= 8]
    if not values:
        return
    with _known_lock:
        for value in values:
            _known.pop(value, None)
            _known[value] = None
        while len(_known) > _KNOWN_MAX:
            _known.pop(next(iter(_known)))


def redact(text: str) -> str:
    """``text`` with secrets replaced by ``***``, for messages, output and stored errors.

    Redacted: the values of environment variables whose names say they are secret
    (``OPENAI_API_KEY``, ``AZURE_OPENAI_API_KEY``, ``*_TOKEN``, ``*_SECRET``,
    ``*PASSWORD``...; values of 8+ characters); key shapes (``sk-...``, Google ``AIza...``,
    GitHub ``ghp_...``, Slack ``xox?-...``, Hugging Face ``hf_...``, Groq ``gsk_...``, AWS
    ``AKIA...``); passwords in URLs (``scheme://user:pass@host``); the value of any field
    named like a credential (``api-key: ...``, ``"api_key": "..."``, ``access_token=...``,
    ``password=...``, in headers, JSON bodies, forms, DSNs and query strings), ``?key=``,
    ``&token=`` and ``&sig=`` query parameters; ``Authorization`` values (bearer tokens,
    basic credentials); and the credentials of models whose calls failed
    (:func:`remember_secrets`).

    Example:
        >>> redact("401 for key sk-abcdefghijklmnop at http://bob:hunter2@host/v1")
        '401 for key sk-*** at http://bob:***@host/v1'
    """
    for name, value in os.environ.items():
        if len(value) >= 8 and _SECRET_NAME.search(name) and value in text:
            text = text.replace(value, "***")
    for value in list(_known):
        if value in text:
            text = text.replace(value, "***")
    for pattern, replacement in _SECRET_SHAPES:
        text = pattern.sub(replacement, text)
    return text


class RedactedError(Exception):
    """Stands in for an exception whose text held a secret (named as the original)."""


_REDACTED_CLASSES: dict[str, type[RedactedError]] = {}


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in out and len(out) < 8:
        out.append(current)
        current = current.__cause__ or current.__context__
    return out


def redacted_error(exc: BaseException) -> BaseException:
    """``exc`` itself, or - when its text or its chain's holds a secret - a stand-in to chain
    an error to instead (``raise ... from redacted_error(exc)``).

    The stand-in is a :class:`RedactedError` subclass named as the original's class, with the
    redacted text (and the original's ``status_code``, if any) and no chain of its own, so a
    printed traceback shows what failed without the key a server echoed.

    Args:
        exc: The error (typically a model client's, from a server's reply).

    Returns:
        ``exc`` when nothing in it needs redacting, else the stand-in.
    """
    chain = _chain(exc)
    if all(redact(str(e)) == str(e) for e in chain):
        return exc
    name = type(exc).__name__
    cls = _REDACTED_CLASSES.get(name)
    if cls is None:
        cls = _REDACTED_CLASSES[name] = type(name, (RedactedError,), {})
    stand_in = cls(redact(str(exc)))
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        stand_in.status_code = status  # type: ignore[attr-defined]
    return stand_in
