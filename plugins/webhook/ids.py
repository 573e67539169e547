"""Domain ids of pushed data (DESIGN.md): deterministic, so a repeated push is an update."""

from __future__ import annotations

import hashlib
import json
import uuid

PLUGIN = "webhook"
_NAMESPACE = uuid.UUID("6f1c1d52-55a4-4c1e-9a43-0e4b2b8e7a10")


def scope_id(connection_id: int) -> str:
    """The board and the cicd scope of a connection share this id."""
    return f"{PLUGIN}:{connection_id}"


def issue_id(connection_id: int, key: str) -> str:
    return f"{PLUGIN}:{connection_id}:{key}"


def deployment_id(connection_id: int, key: str) -> str:
    return f"{PLUGIN}:{connection_id}:{key}"


def deployment_commit_id(connection_id: int, key: str, repo_url: str, commit_sha: str) -> str:
    """DevLake's `webhook:<conn>:<deployment>:<md5(repoUrl)[:16]>:<sha>`."""
    url_hash = hashlib.md5(repo_url.encode(), usedforsecurity=False).hexdigest()[:16]
    return f"{PLUGIN}:{connection_id}:{key}:{url_hash}:{commit_sha}"


def user_id(connection_id: int, key: str) -> str:
    return f"{PLUGIN}:{connection_id}:{key}"


def generated_key(connection_id: int, *parts: object) -> str:
    """A UUID that is the same for the same event identity: repeats and races collapse."""
    name = json.dumps([connection_id, *parts], separators=(",", ":"), default=str)
    return str(uuid.uuid5(_NAMESPACE, name))


def raw_params(connection_id: int) -> str:
    """`_raw_data_params` of pushed rows: which connection they came through."""
    return json.dumps({"ConnectionId": connection_id}, separators=(",", ":"))
