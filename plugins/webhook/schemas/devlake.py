"""DevLake webhook bodies (camelCase, as DevLake's `plugins/webhook/api`): issues and deployments.

Required fields and defaults follow DevLake; the extension fields (environment, service,
team, commitSha, version) are incidentlake's, for incident filters and explicit links.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic.alias_generators import to_camel

from plugins.webhook.schemas.common import (
    BODY_CONFIG,
    INT64,
    DeploymentKey,
    Instant,
    Int64,
    Key,
    LongText,
    OptionalKey,
    Required255,
    RequiredLongText,
    RequiredText,
    Sha,
    Str100,
    Str255,
    Text,
    not_before,
)

CAMEL = ConfigDict(**BODY_CONFIG, alias_generator=to_camel, populate_by_name=False)
Environment = Literal["PRODUCTION", "STAGING", "TESTING", "DEVELOPMENT", ""]


class IssueBody(BaseModel):
    model_config = CAMEL

    issue_key: Key
    title: RequiredLongText
    status: Literal["TODO", "IN_PROGRESS", "DONE"]
    original_status: Required255
    created_date: Instant
    url: Text | None = None
    description: LongText | None = None
    epic_key: Str255 | None = None
    type: Str100 | None = None
    story_point: float | None = Field(default=None, ge=-1e9, le=1e9)
    resolution_date: Instant | None = None
    updated_date: Instant | None = None
    lead_time_minutes: int | None = Field(default=None, ge=0, le=INT64)
    parent_issue_key: OptionalKey | None = None
    priority: Str255 | None = None
    original_estimate_minutes: Int64 | None = None
    time_spent_minutes: Int64 | None = None
    time_remaining_minutes: Int64 | None = None
    creator_id: OptionalKey | None = None
    creator_name: Str255 | None = None
    assignee_id: OptionalKey | None = None
    assignee_name: Str255 | None = None
    severity: Str255 | None = None
    component: Str255 | None = None
    # incidentlake extensions
    environment: Str255 | None = None
    service: Str255 | None = None
    team: Str255 | None = None
    commit_sha: Str255 | None = None
    version: Str255 | None = None

    @field_validator("resolution_date")
    @classmethod
    def _resolved_after_created(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        return not_before(value, info.data.get("created_date"), "createdDate")


class DeploymentCommitBody(BaseModel):
    model_config = CAMEL

    repo_url: RequiredText
    commit_sha: Sha
    display_title: Str255 | None = None
    repo_id: Str255 | None = None
    name: Str255 | None = None
    ref_name: Str255 | None = None
    commit_msg: Text | None = None
    result: Str100 | None = None
    status: Str100 | None = None
    created_date: Instant | None = None
    started_date: Instant | None = None
    finished_date: Instant | None = None


class DeploymentBody(BaseModel):
    model_config = CAMEL

    id: DeploymentKey
    started_date: Instant
    finished_date: Instant
    deployment_commits: list[DeploymentCommitBody] = Field(min_length=1, max_length=1000)
    display_title: Str255 | None = None
    result: Str100 | None = None
    environment: Environment | None = None
    original_environment: Str255 | None = None
    name: Str255 | None = None
    created_date: Instant | None = None

    @field_validator("finished_date")
    @classmethod
    def _finished_after_started(cls, value: datetime, info: ValidationInfo) -> datetime:
        return not_before(value, info.data.get("started_date"), "startedDate")
