"""DORA computed in plain Python from the seeded rows: what the SQL must agree with.

Written from the definitions (DESIGN.md and DevLake's dashboard queries), not from our
SQL, so a mistake in one shows up as a difference.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from core.dora import levels as lv
from tests.integration.dora.seed import Seed

SKEW = timedelta(hours=1)
RESTORE_KEYS = ("timeToRestore", "failedDeploymentRecoveryTime")


def ms(delta: timedelta) -> int:
    return round(delta.total_seconds() * 1000)


def minutes(start: datetime, end: datetime) -> int:
    m = ms(end - start)
    return m // 60000 if m >= 0 else -((-m) // 60000)


def month(d: date | datetime) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def passes(row: dict[str, Any], flt: dict[str, list[str]]) -> bool:
    columns = {"priorities": "priority", "severities": "severity", "urgencies": "urgency",
               "services": "service", "environments": "environment"}  # fmt: skip
    for key, column in columns.items():
        allowed = {v.lower() for v in flt.get(key) or []}
        if allowed and (row.get(column) is None or row[column].lower() not in allowed):
            return False
    return True


def percent_ranks(values: list[float]) -> list[tuple[float, float]]:
    ordered = sorted(values)
    n = len(ordered)
    out = []
    for v in ordered:
        less = sum(1 for x in ordered if x < v)
        out.append((v, 0.0 if n == 1 else less / (n - 1)))
    return out


def aggregate(values: list[float], how: str, *, upper: bool = False) -> float | None:
    if not values:
        return None
    if how == "mean":
        return sum(values) / len(values)
    ranks = percent_ranks(values)
    if upper and how == "median":
        above = [v for v, r in ranks if r >= 0.5]
        return min(above) if above else max(values)
    q = 0.5 if how == "median" else 0.9
    return max(v for v, r in ranks if r <= q)


@dataclass
class Deployment:
    id: str
    finished: datetime


class Reference:
    def __init__(self, seed: Seed, project: str) -> None:
        self.seed, self.project = seed, project
        proj = next(p for p in seed.projects if p["name"] == project)
        self.filter = proj["incident_filter"] or {}
        self.window_hours = proj["linking_window_hours"]
        owned = [m for m in seed.mapping if m["project_name"] == project]
        self.boards = {m["row_id"] for m in owned if m["table"] == "boards"}
        self.cicd = {m["row_id"] for m in owned if m["table"] == "cicd_scopes"}
        on_board = {bi["issue_id"] for bi in seed.board_issues if bi["board_id"] in self.boards}
        self.incidents = [
            self._incident(i)
            for i in seed.issues
            if i["id"] in on_board and i["type"] == "INCIDENT" and passes(i, self.filter)
        ]
        self.deployments = self._deployments()
        self.links = self._links()

    @staticmethod
    def _incident(issue: dict[str, Any]) -> dict[str, Any]:
        out = dict(issue)
        if out["lead_time_minutes"] is None and out["resolution_date"] and out["created_date"]:
            out["lead_time_minutes"] = minutes(out["created_date"], out["resolution_date"])
        return out

    def _deployments(self) -> dict[str, Deployment]:
        finished: dict[str, datetime] = {}
        for c in self.seed.commits:
            if (
                c["cicd_scope_id"] not in self.cicd
                or c["result"] != "SUCCESS"
                or c["environment"] != "PRODUCTION"
            ):
                continue
            if c["finished_date"] is None:
                continue
            d = c["cicd_deployment_id"]
            finished[d] = max(finished.get(d, c["finished_date"]), c["finished_date"])
        return {d: Deployment(d, f) for d, f in finished.items()}

    def _links(self) -> dict[str, tuple[str, str]]:
        """incident id -> (deployment id, 'explicit' | 'time')."""
        by_sha: dict[str, set[str]] = defaultdict(set)
        by_version: dict[str, set[str]] = defaultdict(set)
        for c in self.seed.commits:
            if c["result"] == "SUCCESS" and c["environment"] == "PRODUCTION":
                by_sha[c["commit_sha"]].add(c["cicd_deployment_id"])
                if c.get("version"):
                    by_version[c["version"]].add(c["cicd_deployment_id"])
        links: dict[str, tuple[str, str]] = {}
        ordered = sorted(self.deployments.values(), key=lambda d: (d.finished, d.id))
        for inc in self.incidents:
            created = inc["created_date"]
            cands: set[str] = set()
            if inc.get("commit_sha"):
                cands |= by_sha.get(inc["commit_sha"], set())
            if inc.get("version"):
                cands |= by_version.get(inc["version"], set())
            deps = [self.deployments[c] for c in cands if c in self.deployments]
            deps = [d for d in deps if d.finished - created <= SKEW] if created is not None else []
            before = [d for d in deps if d.finished <= created] if created else []
            if before:
                links[inc["id"]] = (max(before, key=lambda d: (d.finished, d.id)).id, "explicit")
                continue
            if deps:
                first = min(d.finished for d in deps)
                links[inc["id"]] = (max(d.id for d in deps if d.finished == first), "explicit")
                continue
            if created is None:
                continue
            prior = [d for d in ordered if d.finished <= created]
            if not prior:
                continue
            last = prior[-1]
            if self.window_hours is not None and ms(created - last.finished) > round(
                self.window_hours * 3_600_000
            ):
                continue
            links[inc["id"]] = (last.id, "time")
        return links

    # -- metrics -----------------------------------------------------------------------
    def report(self, lo: datetime, hi: datetime, report: str, agg: str) -> dict[str, Any]:
        in_window = {d.id: d for d in self.deployments.values() if lo <= d.finished < hi}
        failed_ids = {dep for dep, _ in self.links.values()}
        cfr: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for d in in_window.values():
            cfr[month(d.finished)][0] += 1
            cfr[month(d.finished)][1] += d.id in failed_ids
        restore: dict[str, list[float]] = defaultdict(list)  # time to restore, by resolution month
        recovery: dict[str, list[float]] = defaultdict(list)  # recovery time, by deployment month
        for inc in self.incidents:
            res = inc["resolution_date"]
            if res is None or not lo <= res < hi:
                continue
            restore[month(res)].append(inc["lead_time_minutes"])
            link = self.links.get(inc["id"])
            if link and link[0] in in_window:
                dep = in_window[link[0]]
                recovery[month(dep.finished)].append(minutes(dep.finished, res))
        for series in (restore, recovery):
            series["*"] = [v for vs in list(series.values()) for v in vs]
        freq = self._frequency(lo, hi, agg)
        months = []
        m = date(lo.year, lo.month, 1)
        last_day = (hi - timedelta(microseconds=1)).date()
        while m <= last_day:
            months.append(month(m))
            m = date(m.year + (m.month == 12), m.month % 12 + 1, 1)
        has_boards, has_cicd = bool(self.boards), bool(self.cicd)
        return {
            "cfr": {k: tuple(v) for k, v in cfr.items()},
            "timeToRestore": {k: (len(v), aggregate(v, agg)) for k, v in restore.items() if v},
            "failedDeploymentRecoveryTime": {
                k: (len(v), aggregate(v, agg)) for k, v in recovery.items() if v
            },
            "frequency": freq,
            "months": months,
            "scopes": (has_boards, has_cicd),
        }

    def _frequency(self, lo: datetime, hi: datetime, agg: str) -> dict[str, Any]:
        first, last = lo.date(), (hi - timedelta(microseconds=1)).date()
        day_lo = datetime.combine(first, datetime.min.time())
        day_hi = datetime.combine(last + timedelta(days=1), datetime.min.time())
        deps = [d for d in self.deployments.values() if day_lo <= d.finished < day_hi]
        dep_days = {d.finished.date() for d in deps}
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        week_of: Callable[[date], date] = lambda d: d - timedelta(days=d.weekday())  # noqa: E731
        weeks: dict[date, int] = defaultdict(int)
        months: dict[str, int] = defaultdict(int)
        month_weeks: dict[tuple[str, date], int] = defaultdict(int)
        for d in days:
            hit = int(d in dep_days)
            weeks[week_of(d)] += hit
            months[month(d)] += hit
            month_weeks[(month(d), week_of(d))] += hit
        per_month_weeks: dict[str, list[int]] = defaultdict(list)
        for (mo, _), n in month_weeks.items():
            per_month_weeks[mo].append(n)
        ordered_months = sorted(months)
        sums = []
        for i, mo in enumerate(ordered_months):
            window = ordered_months[max(0, i - 5) : i + 1]
            sums.append((mo, sum(months[x] for x in window)))
        sampled = []
        by_partition: dict[int, list[tuple[str, int]]] = defaultdict(list)
        for mo, s in sums:
            by_partition[int(mo[:4]) // 6].append((mo, s))
        for rows in by_partition.values():
            for rn, (_, s) in enumerate(sorted(rows, reverse=True), start=1):
                if rn % 6 == 1:
                    sampled.append(s)
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for d in deps:
            counts[month(d.finished)][0] += 1
        for day in dep_days:
            counts[month(day)][1] += 1
        return {
            "week": aggregate(list(weeks.values()), agg),
            "month": aggregate(list(months.values()), agg),
            "six": aggregate(sampled, agg, upper=True),
            "month_week": {mo: aggregate(v, agg) for mo, v in per_month_weeks.items()},
            "month_days": dict(months),
            "counts": {k: tuple(v) for k, v in counts.items()},
        }


def expected_report(ref: Reference, lo: datetime, hi: datetime, report: str, agg: str) -> dict[str, Any]:
    """The reference figures in the `/dora` shape (levels from the same band edges)."""
    r = ref.report(lo, hi, report, agg)
    has_boards, has_cicd = r["scopes"]

    def number(v: float | None) -> float | int | None:
        return None if v is None else (round(v, 2) if agg == "mean" else int(v))

    def cfr(deps: int, failed: int) -> dict[str, Any]:
        value = failed / deps if deps and has_cicd else None
        return {"value": value, "level": lv.cfr_level(value, report) if value is not None else None,
                "failedDeployments": failed, "deployments": deps}  # fmt: skip

    def restore(entry: tuple[int, float | None] | None, key: str) -> dict[str, Any]:
        n, v = entry or (0, None)
        ok = v is not None and has_boards and (key == "timeToRestore" or has_cicd)
        return {
            "minutes": number(v) if ok else None,
            "level": lv.restore_level(v) if ok else None,
            "incidents": n,
        }

    def freq(
        week: float | None, mon: float | None, six: float | None, counts: tuple[int, int]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {"deploymentDaysPerWeek": None, "deploymentDaysPerMonth": None, "level": None,
                               "deployments": counts[0], "deploymentDays": counts[1]}  # fmt: skip
        if has_cicd and counts[0] and week is not None and mon is not None:
            out.update(deploymentDaysPerWeek=number(week), deploymentDaysPerMonth=number(mon),
                       level=lv.frequency_level(week, mon, six, report))  # fmt: skip
        return out

    f = r["frequency"]
    total_cfr = (sum(v[0] for v in r["cfr"].values()), sum(v[1] for v in r["cfr"].values()))
    total_counts = (sum(v[0] for v in f["counts"].values()), sum(v[1] for v in f["counts"].values()))
    overall_freq = freq(f["week"], f["month"], f["six"], total_counts)
    if report == "2021" and overall_freq["level"] is not None:
        overall_freq["deploymentDaysPerSixMonths"] = number(f["six"])
    return {
        "changeFailureRate": cfr(*total_cfr),
        **{key: restore(r[key].get("*"), key) for key in RESTORE_KEYS},
        "deploymentFrequency": overall_freq,
        "monthly": [
            {
                "month": m,
                "changeFailureRate": cfr(*r["cfr"].get(m, (0, 0))),
                **{key: restore(r[key].get(m), key) for key in RESTORE_KEYS},
                "deploymentFrequency": freq(
                    f["month_week"].get(m), f["month_days"].get(m), None, f["counts"].get(m, (0, 0))
                ),
            }
            for m in r["months"]
        ],
    }


def comparable(body: dict[str, Any], keys: Iterable[str] = ("changeFailureRate",)) -> dict[str, Any]:
    """Strip what the reference does not model (band texts, reasons) from an API body."""

    def strip(entry: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in entry.items() if k not in ("benchmark", "reason")}

    names = ["changeFailureRate", *RESTORE_KEYS, "deploymentFrequency"]
    return {
        **{n: strip(body[n]) for n in names},
        "monthly": [{"month": m["month"], **{n: strip(m[n]) for n in names}} for m in body["monthly"]],
    }
