"""Turning an API's error response into one readable line.

The remote text usually says exactly what is wrong ("Offset must be less than 10000"), so it is
surfaced verbatim; HTML error pages from proxies are reduced to their title instead of dumped.
"""

from __future__ import annotations

import html
import re
from typing import Any

import httpx

MAX_MESSAGE = 300
TEXT_PREFIX = 200

_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.IGNORECASE | re.DOTALL)
_SCRIPT_STYLE = re.compile(r"<(script|style)[^>]*>.*?</\1>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def _one_line(text: str, limit: int = MAX_MESSAGE) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _error_item(item: Any) -> str | None:
    if isinstance(item, str):
        return item
    if isinstance(item, dict):
        title, detail = item.get("title"), item.get("detail")
        if isinstance(title, str) and isinstance(detail, str) and title and detail and title != detail:
            return f"{title}: {detail}"
        for key in ("detail", "title", "message"):
            value = item.get(key)
            if isinstance(value, str) and value:
                return value
    return None


def _error_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        return []
    return [text for text in map(_error_item, value) if text]


def message_from_json(data: Any) -> str | None:
    """Pull the human text out of the usual error shapes (PagerDuty, Datadog, JSON:API, plain)."""
    if isinstance(data, list):
        parts = _error_list(data)
        return "; ".join(parts) if parts else None
    if not isinstance(data, dict):
        return None
    headline: str | None = None
    details: list[str] = []
    error = data.get("error")
    if isinstance(error, dict):  # PagerDuty: {"error": {"message": ..., "code": ..., "errors": [...]}}
        if isinstance(error.get("message"), str):
            headline = error["message"]
        details += _error_list(error.get("errors"))
    elif isinstance(error, str):
        headline = error
    details += _error_list(data.get("errors"))  # Datadog: {"errors": ["..."]} or [{"detail": ...}]
    if headline is None:
        for key in ("message", "detail", "title", "error_description"):
            if isinstance(data.get(key), str) and data[key]:
                headline = data[key]
                break
    details = [d for d in details if d != headline]
    if headline and details:
        return f"{headline}: {'; '.join(details)}"
    if headline:
        return headline
    return "; ".join(details) if details else None


def summarize_html(text: str) -> str:
    """The page title (or heading, or leading text) of an HTML error page."""
    for pattern in (_TITLE, _H1):
        match = pattern.search(text)
        if match:
            title = _one_line(html.unescape(_TAG.sub(" ", match.group(1))), 120)
            if title:
                return f"HTML page: {title}"
    body = _one_line(html.unescape(_TAG.sub(" ", _SCRIPT_STYLE.sub(" ", text))), 120)
    return f"HTML page: {body}" if body else "HTML page"


def _looks_like_html(response: httpx.Response, text: str) -> bool:
    content_type = response.headers.get("content-type", "").lower()
    head = text.lstrip()[:100].lower()
    return "html" in content_type or head.startswith(("<!doctype html", "<html", "<head", "<body"))


def default_error_message(response: httpx.Response) -> str | None:
    """The remote API's error text from an error response, or None when the body says nothing."""
    try:
        text = response.text
    except (UnicodeDecodeError, LookupError):
        return None
    if not text.strip():
        return None
    try:
        data = response.json()
    except ValueError:
        data = None
    if data is not None:
        message = message_from_json(data)
        if message:
            return _one_line(message)
        if data in ({}, [], "", None):
            return None
    if _looks_like_html(response, text):
        return summarize_html(text)
    return _one_line(text, TEXT_PREFIX)
