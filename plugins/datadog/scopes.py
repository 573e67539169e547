"""Suggested scopes for `remote-scopes`: Datadog has no list of "scopes", so we offer filters
built from what recent DORA data holds: everything, one per service, env and team."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from core.http import ApiClient, HttpError
from core.plugin import RemoteScope
from plugins.datadog.api import dora_list

RECENT = timedelta(days=30)
PER_FACET = 20
_SLUG = re.compile(r"[^a-z0-9._-]+")


def _slug(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")[:100] or "x"


def _scope(id: str, name: str, query: str, kinds: list[str], parent: str | None = None) -> RemoteScope:
    data = {"id": id, "name": name, "query": query, "kinds": kinds}
    return RemoteScope(id=id, parent_id=parent, name=name, full_name=name, data=data)


def suggestions(client: ApiClient) -> list[RemoteScope]:
    """Fixed entries first, then per service / env / team, most active first."""
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    facets: dict[str, Counter[str]] = {"service": Counter(), "env": Counter(), "team": Counter()}
    for kind in ("failures", "deployments"):
        try:
            records = dora_list(client, kind, now - RECENT, now, "")
        except HttpError:
            continue  # no DORA access: the fixed suggestions still help
        for record in records:
            attrs: dict[str, Any] = record.get("attributes") or {}
            services = attrs.get("services") or ([attrs["service"]] if attrs.get("service") else [])
            for svc in services if isinstance(services, list) else []:
                facets["service"][str(svc)] += 1
            for key in ("env", "team"):
                if attrs.get(key):
                    facets[key][str(attrs[key])] += 1
    out = [
        _scope("all-dora", "All DORA failures and deployments", "", ["failures", "deployments"]),
        _scope("all-monitors", "All monitor alerts", "", ["monitors"]),
    ]
    for facet, counts in facets.items():
        for value, _ in counts.most_common(PER_FACET):
            query = f"{facet}:{value}"
            out.append(
                _scope(
                    f"{facet}-{_slug(value)}",
                    f"{facet} {value}: failures, deployments and monitor alerts",
                    query,
                    ["failures", "deployments", "monitors"],
                )
            )
    return out


def matching(scopes: list[RemoteScope], search: str | None) -> list[RemoteScope]:
    if not search:
        return scopes
    needle = search.lower()
    return [s for s in scopes if needle in s.name.lower() or needle in str((s.data or {}).get("query", ""))]
