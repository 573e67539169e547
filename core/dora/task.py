"""The builtin `dora` task type: a project's DORA stage, run by pipelines like any plugin task.

Options: `{"projectName": ...}`. Subtasks: `rebuildIncidents` (issues of type INCIDENT on
the project's boards, after its incident filter → `incidents`, `incident_assignees`; the
project's deployments, ranked → `_dora_deployments`) and `linkIncidents` (the incidents and
deployments `rebuildIncidents` last prepared → `_dora_links`,
`project_incident_deployment_relationships`). Run alone, `linkIncidents` links what the last
`rebuildIncidents` left, new issues and deployments alike waiting for the next one.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from core.dora.linking import link_incidents
from core.dora.stage import rebuild_incidents
from core.plugin import ConnectionBase, Plugin, Subtask, TaskContext, TaskOptions


class NoConnection(ConnectionBase):
    """The dora task type reads the database only: refuse to store connections for it."""

    @model_validator(mode="before")
    @classmethod
    def _refuse(cls, _: object) -> object:
        raise ValueError("the dora task type has no connections; create a project instead (POST /projects)")


class DoraOptions(TaskOptions):
    project_name: str | None = Field(default=None, min_length=1, max_length=255)


def _project(ctx: TaskContext) -> str:
    name = ctx.project_name or ctx.options.project_name
    if not name:
        raise ValueError("the dora task needs options.projectName")
    return name


def _rebuild(ctx: TaskContext) -> None:
    ctx.progress.set_total(1)
    result = rebuild_incidents(ctx.db, _project(ctx))
    ctx.progress.advance(1, records=result.incidents)
    ctx.log.info("dora: %s incidents rebuilt for project %s", result.incidents, _project(ctx))


def _link(ctx: TaskContext) -> None:
    ctx.progress.set_total(1)
    result = link_incidents(ctx.db, _project(ctx))
    ctx.progress.advance(1, records=result.total)
    ctx.log.info(
        "dora: %s incidents linked for project %s (%s explicit, %s by time)",
        result.total,
        _project(ctx),
        result.explicit,
        result.time,
    )


class DoraPlugin(Plugin):
    name = "dora"
    description = "DORA stage of a project: incidents from issues, incident → deployment links"
    connection_model = NoConnection
    options_model = DoraOptions
    # the dashboard page holds no data (its API calls carry the key), so browsers may load it
    public_paths: ClassVar[list[str]] = ["^/dashboard$"]
    subtasks: ClassVar[list[Subtask]] = [
        Subtask(
            "rebuildIncidents",
            _rebuild,
            "convert",
            "issues of type INCIDENT on the project's boards → incidents; its deployments ranked",
        ),
        Subtask("linkIncidents", _link, "other", "incidents → the deployments that caused them"),
    ]


plugin = DoraPlugin()
