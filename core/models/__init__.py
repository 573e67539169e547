"""All tables of core; plugins add their own tool and raw tables to the same metadata."""

from core.models.base import Base, utcnow
from core.models.domain import (
    Board,
    BoardIssue,
    CalendarMonth,
    CicdDeployment,
    CicdDeploymentCommit,
    CicdScope,
    DoraBenchmark,
    Incident,
    IncidentAssignee,
    Issue,
    IssueAssignee,
    ProjectIncidentDeploymentRelationship,
    ProjectMapping,
)
from core.models.framework import (
    Blueprint,
    CollectorState,
    Connection,
    Pipeline,
    Project,
    Scope,
    Task,
    WebhookApiKey,
)
from core.models.raw import raw_table

__all__ = [
    "Base",
    "Blueprint",
    "Board",
    "BoardIssue",
    "CalendarMonth",
    "CicdDeployment",
    "CicdDeploymentCommit",
    "CicdScope",
    "CollectorState",
    "Connection",
    "DoraBenchmark",
    "Incident",
    "IncidentAssignee",
    "Issue",
    "IssueAssignee",
    "Pipeline",
    "Project",
    "ProjectIncidentDeploymentRelationship",
    "ProjectMapping",
    "Scope",
    "Task",
    "WebhookApiKey",
    "raw_table",
    "utcnow",
]
