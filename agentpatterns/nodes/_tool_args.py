"""The offline model's *arguments* rule: fill a tool call from the request, by the schema.

Each parameter takes the first unused value of its kind found in the request:

* ``enum`` (``Literal``, ``Enum``): the option the request names (word match, any case);
* ``integer`` / ``number``: a number written in the request (not one inside an identifier
  or a date);
* ``format: date`` (``datetime.date``), or a name ending in ``date`` / ``day``: an ISO date
  (``2026-03-14``) or a written one (``14 March 2026``, ``March 14``), given to a
  ``datetime.date`` parameter as ISO (the current year when none is written);
* ``pattern``: the first part of the request that matches the schema's regular expression;
* an identifier parameter (name ``id``, ``*_id``, ``*_code``, ``*_number``, ``sku``, ``ref``
  ...): a token mixing letters and digits (``A1001``, ``ORD-7``) or a ``#123`` number;
* any other string: a quoted phrase (``"..."`` or ``'...'``); when exactly one free-text
  parameter without a default is left, it takes the *whole* request;
* ``boolean`` and whatever found nothing: the schema's default; a required one with no
  default gets ``False`` / ``0`` / the first option / the request's key terms.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import Any

from agentpatterns.nodes._text import key_terms

__all__ = ["fill_arguments"]

_MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|"
           "december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")
_DATE = re.compile(
    r"\b\d{4}-\d{2}-\d{2}\b"
    rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTHS})\.?(?:,?\s+\d{{4}})?\b"
    rf"|\b(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?\b",
    re.I,
)
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                "dec")
_IDENT = re.compile(r"#\d+|\b(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[A-Za-z0-9][\w-]*[A-Za-z0-9]\b")
_NUMBER = re.compile(r"(?<![\w.#-])-?\d+(?:\.\d+)?(?![\w-])")
_QUOTED = re.compile(r"\"([^\"]+)\"|“([^”]+)”|(?<!\w)'([^']+)'(?!\w)")
_ID_NAME = re.compile(r"(?:^|_)(?:id|ids|code|number|num|no|sku|ref|reference|key|slug)$", re.I)
_DATE_NAME = re.compile(r"(?:^|_)(?:date|day)$", re.I)


class _Found:
    """The values of each kind in the request, each handed out once, in request order."""

    def __init__(self, request: str) -> None:
        self.request = request
        dates = [(m.start(), m.end(), m.group(0)) for m in _DATE.finditer(request)]
        self.dates = [d[2] for d in dates]

        def outside_dates(m: re.Match[str]) -> bool:
            return not any(a <= m.start() < b for a, b, _ in dates)

        self.idents = [m.group(0) for m in _IDENT.finditer(request) if outside_dates(m)]
        self.numbers = [m.group(0) for m in _NUMBER.finditer(request) if outside_dates(m)]
        self.quoted = [next(g for g in m.groups() if g) for m in _QUOTED.finditer(request)]

    @staticmethod
    def take(values: list[str]) -> str | None:
        return values.pop(0) if values else None


def _resolve(spec: Mapping[str, Any], defs: Mapping[str, Any]) -> Mapping[str, Any]:
    if "$ref" in spec:
        found: Mapping[str, Any] = defs.get(str(spec["$ref"]).rsplit("/", 1)[-1], {})
        return found
    options = [s for s in spec.get("anyOf") or () if s.get("type") != "null"]
    if options:  # Optional[X]: X
        return _resolve({**options[0], **{k: v for k, v in spec.items() if k != "anyOf"}}, defs)
    return spec


def _enum(options: list[Any], request: str) -> Any:
    for option in options:
        if re.search(rf"(?<!\w){re.escape(str(option))}(?!\w)", request, re.I):
            return option
    return None


def _iso(text: str | None) -> str | None:
    """A written date as ``YYYY-MM-DD`` (the current year when it names none)."""
    if text is None or re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return text
    words = re.findall(r"[A-Za-z]+|\d+", text)
    month = next(i for i, w in enumerate(_MONTH_NAMES, 1)
                 if any(x.lower().startswith(w) for x in words if x.isalpha()))
    numbers = [int(w) for w in words if w.isdigit()]
    day = next(n for n in numbers if n <= 31)
    year = next((n for n in numbers if n > 31), datetime.date.today().year)
    try:
        return datetime.date(year, month, day).isoformat()
    except ValueError:  # "31 February": not a date; leave it for the tool to refuse
        return text


def _number(text: str | None, kind: str) -> Any:
    if text is None:
        return None
    return int(float(text)) if kind == "integer" else float(text)


def _specific(name: str, spec: Mapping[str, Any], found: _Found) -> Any:
    """The value of one parameter from the request, or ``None`` if it names none."""
    kind = spec.get("type")
    if "enum" in spec:
        return _enum(list(spec["enum"]), found.request)
    if kind in ("integer", "number"):
        return _number(found.take(found.numbers), str(kind))
    if kind != "string":
        return None
    if spec.get("pattern"):
        regex = str(spec["pattern"]).removeprefix("^").removesuffix("$")
        try:
            match = re.search(regex, found.request)
        except re.error:
            match = None
        return match.group(0) if match else None
    if spec.get("format") == "date":
        return _iso(found.take(found.dates))
    if spec.get("format") == "date-time" or _DATE_NAME.search(name):
        return found.take(found.dates)
    if _ID_NAME.search(name):
        ident = found.take(found.idents)
        return ident.lstrip("#") if ident else found.take(found.numbers)
    return found.take(found.quoted)


def _fallback(spec: Mapping[str, Any], request: str) -> Any:
    kind = spec.get("type")
    if "enum" in spec:
        return spec["enum"][0]
    if kind == "boolean":
        return False
    if kind in ("integer", "number"):
        return 0
    if kind == "array":
        return []
    if kind == "object":
        return {}
    return " ".join(key_terms(request)) or request


def fill_arguments(parameters: Mapping[str, Any], request: str) -> dict[str, Any]:
    """Arguments for a tool whose JSON-schema ``parameters`` are given, from ``request``.

    See the module docstring for the rule. Only parameters that got a value, have a
    default, or are required appear in the result.
    """
    props: Mapping[str, Any] = parameters.get("properties") or {}
    required = set(parameters.get("required") or ())
    defs: Mapping[str, Any] = parameters.get("$defs") or {}
    found = _Found(request)
    args: dict[str, Any] = {}
    free: list[str] = []
    for name, raw in props.items():
        spec = _resolve(raw, defs)
        value = _specific(name, spec, found)
        if value is not None:
            args[name] = value
        elif spec.get("type") == "string" and "enum" not in spec and not spec.get("pattern") \
                and not _ID_NAME.search(name):
            free.append(name)
    needed = [n for n in free if n in required or "default" not in props[n]]
    if len(needed) == 1:
        args[needed[0]] = request  # the one free-text parameter: what the user asked
    for name, raw in props.items():
        if name in args:
            continue
        spec = _resolve(raw, defs)
        if "default" in raw or "default" in spec:
            args[name] = raw.get("default", spec.get("default"))
        elif name in required:
            args[name] = _fallback(spec, request)
    return {name: args[name] for name in props if name in args}
