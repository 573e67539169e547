"""The reporting period [from, to) in UTC and the calendar pieces metrics group by."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

MAX_DAYS = 10_000  # the day calendar is generated from four digits


@dataclass(frozen=True)
class Window:
    start: datetime  # naive UTC, inclusive
    end: datetime  # naive UTC, exclusive

    def __post_init__(self) -> None:
        if self.start >= self.end:
            raise ValueError("from must be before to")
        if self.days > MAX_DAYS:
            raise ValueError(f"the period may span at most {MAX_DAYS} days")

    @classmethod
    def default(cls, now: datetime | None = None) -> Window:
        """The current month and the five before it, as DevLake's dashboards open."""
        now = now or datetime.now(UTC).replace(tzinfo=None)
        year, month = now.year, now.month - 5
        while month < 1:
            year, month = year - 1, month + 12
        return cls(datetime(year, month, 1), now)

    @property
    def first_day(self) -> date:
        return self.start.date()

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(microseconds=1)).date()

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def day_start(self) -> datetime:
        return datetime.combine(self.first_day, datetime.min.time())

    @property
    def day_end(self) -> datetime:
        return datetime.combine(self.last_day + timedelta(days=1), datetime.min.time())

    def months(self) -> list[str]:
        """'YYYY-MM' of every month the period touches, in order."""
        out = []
        y, m = self.first_day.year, self.first_day.month
        last = (self.last_day.year, self.last_day.month)
        while (y, m) <= last:
            out.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out


def iso(ts: datetime | None) -> str | None:
    """UTC timestamps on the wire: ISO 8601 with milliseconds and Z."""
    return ts.isoformat(timespec="milliseconds") + "Z" if ts else None


def parse_when(value: str | None, field: str) -> datetime | None:
    """ISO dates or timestamps; offsets are converted to UTC, naive values are taken as UTC."""
    if value is None or not value.strip():
        return None
    raw = value.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{field}: not an ISO 8601 date or timestamp") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def window_from(start: str | None, end: str | None, now: datetime | None = None) -> Window:
    """The period a request asks for; either bound may be left out."""
    default = Window.default(now)
    lo = parse_when(start, "from")
    hi = parse_when(end, "to") or (default.end if lo is None or lo < default.end else None)
    if hi is None:
        raise ValueError("to: required when from is in the future")
    if lo is None:
        lo = default.start if default.start < hi else hi - (default.end - default.start)
    return Window(lo, hi)
