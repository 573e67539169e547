"""Datadog DORA bodies (`POST /api/v2/dora/failure|incident|deployment`), field for field.

`data.attributes` as Datadog documents it; timestamps are int64 s/ms/ns (RFC 3339
strings are accepted too); the sender's `id` follows Datadog's 16-128 character rule.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from plugins.webhook.schemas.common import (
    BODY_CONFIG,
    Instant,
    LongText,
    Required255,
    RequiredText,
    Sha,
    Str255,
    encodable,
    not_before,
)

FailureId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{16,128}$")]
DeploymentId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,128}$")]
CustomTag = Annotated[str, StringConstraints(pattern=r"^[^:]+:", max_length=200), AfterValidator(encodable)]
SNAKE = ConfigDict(**BODY_CONFIG)
TAG_BYTES = 50_000  # tags are kept in `_raw_data_remark`, a TEXT column (65,535 bytes) on MySQL


def _tags_fit(tags: list[str]) -> list[str]:
    if tags and sum(len(t.encode("utf-8", "replace")) + 3 for t in tags) > TAG_BYTES:
        raise ValueError(f"custom_tags may hold {TAG_BYTES} bytes altogether")
    return tags


Tags = Annotated[list[CustomTag], Field(max_length=100), AfterValidator(_tags_fit)] | None


class Git(BaseModel):
    model_config = SNAKE

    commit_sha: Sha
    repository_url: RequiredText


class FailureAttributes(BaseModel):
    model_config = SNAKE

    started_at: Instant
    finished_at: Instant | None = None
    services: list[Required255] | None = Field(default=None, max_length=100)
    team: Str255 | None = Field(default=None, validate_default=True)
    id: FailureId | None = None
    name: LongText | None = None
    severity: Str255 | None = None
    env: Str255 | None = None
    version: Str255 | None = None
    git: Git | None = None
    custom_tags: Tags = None

    @field_validator("finished_at")
    @classmethod
    def _finished_after_started(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        return not_before(value, info.data.get("started_at"), "started_at")

    @field_validator("team")
    @classmethod
    def _services_or_team(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not value and not info.data.get("services"):
            raise ValueError("services or team is required")
        return value


class DeploymentAttributes(BaseModel):
    model_config = SNAKE

    service: Required255
    started_at: Instant
    finished_at: Instant
    id: DeploymentId | None = None
    env: Str255 | None = None
    version: Str255 | None = None
    team: Str255 | None = None
    git: Git | None = None
    custom_tags: Tags = None

    @field_validator("finished_at")
    @classmethod
    def _finished_after_started(cls, value: datetime, info: ValidationInfo) -> datetime:
        return not_before(value, info.data.get("started_at"), "started_at")


class FailureData(BaseModel):
    model_config = SNAKE

    attributes: FailureAttributes


class DeploymentData(BaseModel):
    model_config = SNAKE

    attributes: DeploymentAttributes


class FailureRequest(BaseModel):
    model_config = SNAKE

    data: FailureData


class DeploymentRequest(BaseModel):
    model_config = SNAKE

    data: DeploymentData
