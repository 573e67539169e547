"""A page of a list endpoint with its records left as the JSON text received.

A collector stores records as received and reads only a page's few other fields (`total`,
`more`); decoding a 100-record page into Python objects (and freeing them again) cost more of
the collector's time than anything else it does with the page. msgspec checks the whole body
is valid JSON and returns each record as a slice of it, without building the objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

_TOP = msgspec.json.Decoder(dict[str, msgspec.Raw])
_LIST = msgspec.json.Decoder(list[msgspec.Raw])


class NotJson(ValueError):
    """The body is not JSON at all (as opposed to JSON of an unexpected shape)."""


@dataclass(frozen=True)
class RecordPage:
    """`records`: each record's JSON text exactly as received; `fields`: the page's other
    top-level fields, decoded."""

    records: list[bytes]
    fields: dict[str, Any]

    @property
    def total(self) -> int | None:
        total = self.fields.get("total")
        return total if isinstance(total, int) and not isinstance(total, bool) else None

    @property
    def matches(self) -> int:
        """How many records the query matches: its `total`, else the records on this page."""
        total = self.total
        return len(self.records) if total is None else total


def decode_record_page(content: bytes, key: str) -> RecordPage:
    """The page's `key` list of JSON objects, undecoded; NotJson, or a ValueError naming what
    is wrong with the page."""
    try:
        content.decode("utf-8")  # msgspec checks the syntax, not the encoding; records are stored as text
        top = _TOP.decode(content)
    except UnicodeDecodeError as exc:
        raise NotJson(f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except msgspec.ValidationError:
        raise ValueError("response is not a JSON object") from None
    except msgspec.DecodeError as exc:
        raise NotJson(str(exc)) from None
    if key not in top:
        raise ValueError(f"response has no {key!r} list")
    try:
        items = _LIST.decode(top[key])
    except msgspec.ValidationError:
        raise ValueError(f"response has no {key!r} list") from None
    records = [bytes(item) for item in items]
    if not all(record[:1] == b"{" for record in records):
        raise ValueError(f"{key!r} holds something other than objects")
    fields = {name: msgspec.json.decode(value) for name, value in top.items() if name != key}
    return RecordPage(records, fields)
