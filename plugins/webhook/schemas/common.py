"""Field types shared by both intakes: lengths that fit the columns on MySQL, text that the
drivers can encode, instants in any form senders use."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, ConfigDict, Field, PlainValidator, StringConstraints

from plugins.webhook.timestamps import parse_instant

INT64 = 2**63 - 1
_D = TypeVar("_D", datetime, datetime | None)
TEXT = 16_000  # a MySQL TEXT column holds 65,535 bytes: 16k characters even at 4 bytes each
LONG = 1_048_576  # LONGTEXT columns; the 1 MB body limit bounds them anyway


def encodable(value: str) -> str:
    """JSON may carry lone surrogates (\\ud800) that no database driver can encode."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def _instant(value: Any) -> datetime:
    return parse_instant(value)


_Utf8 = AfterValidator(encodable)

Str100 = Annotated[str, StringConstraints(max_length=100), _Utf8]
Str255 = Annotated[str, StringConstraints(max_length=255), _Utf8]
Required255 = Annotated[str, StringConstraints(min_length=1, max_length=255), _Utf8]
Text = Annotated[str, StringConstraints(max_length=TEXT), _Utf8]
RequiredText = Annotated[str, StringConstraints(min_length=1, max_length=TEXT), _Utf8]
LongText = Annotated[str, StringConstraints(max_length=LONG), _Utf8]
RequiredLongText = Annotated[str, StringConstraints(min_length=1, max_length=LONG), _Utf8]
# keys end up inside `webhook:<connectionId>:<key>[:…]` ids, which must fit varchar(255)
Key = Annotated[str, StringConstraints(min_length=1, max_length=200), _Utf8]
OptionalKey = Annotated[str, StringConstraints(max_length=200), _Utf8]
DeploymentKey = Annotated[str, StringConstraints(min_length=1, max_length=128), _Utf8]
Sha = Annotated[str, StringConstraints(min_length=1, max_length=80), _Utf8]

Instant = Annotated[datetime, PlainValidator(_instant)]
Int64 = Annotated[int, Field(ge=-INT64, le=INT64)]

BODY_CONFIG = ConfigDict(extra="ignore", coerce_numbers_to_str=True, frozen=True)


def not_before(value: _D, start: datetime | None, start_name: str) -> _D:
    """An end instant must not precede its start (a negative duration is a sender's mistake)."""
    if value is not None and start is not None and value < start:
        raise ValueError(f"must not be before {start_name}")
    return value
