"""Triggering and running pipelines over real HTTP with the in-process executor."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import delete, func, insert, select

from core.context import AppContext
from core.models import Blueprint, Connection, Issue, Project, ProjectMapping
from tests.integration.pipeline import fakes
from tests.integration.pipeline.conftest import FINAL, make_connection, wait_for, wait_status


def _blueprint(api: httpx.Client, conn: int, scopes: list[str], **extra: object) -> dict:
    body = {
        "name": extra.pop("name", "bp"),
        "connections": [
            {"pluginName": "pipefake", "connectionId": conn, "scopes": [{"scopeId": s} for s in scopes]}
        ],
        **extra,
    }
    r = api.post("/blueprints", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def _tasks(api: httpx.Client, pipeline_id: int, **params: object) -> list[dict]:
    return api.get(f"/pipelines/{pipeline_id}/tasks", params=params).json()["tasks"]


def test_trigger_runs_to_completion_with_devlake_shapes(api: httpx.Client, pctx: AppContext) -> None:
    conn = make_connection(pctx, scopes=[{"id": "A", "batches": 2, "batchSize": 3}])
    bp = _blueprint(api, conn, ["A"], labels=["team-a"])
    r = api.post(f"/blueprints/{bp['id']}/trigger")
    assert r.status_code == 200, r.text
    started = r.json()
    assert started["blueprintId"] == bp["id"] and started["status"] in ("TASK_CREATED", "TASK_RUNNING")
    assert started["plan"] == [
        [{"plugin": "pipefake", "options": {"connectionId": conn, "scopeId": "A"}, "subtasks": None}]
    ]
    done = wait_status(api, started["id"], FINAL)
    assert done["status"] == "TASK_COMPLETED", done
    assert done["finishedTasks"] == done["totalTasks"] == 1 and done["stage"] == 1
    assert done["beganAt"] and done["finishedAt"] and done["spentSeconds"] >= 0
    assert done["labels"] == ["team-a"] and done["message"] == "" and done["errorName"] == ""

    (task,) = _tasks(api, started["id"])
    assert task["status"] == "TASK_COMPLETED" and task["progress"] == 1.0
    assert task["pipelineRow"] == 1 and task["pipelineCol"] == 1 and task["plugin"] == "pipefake"
    assert task["progressDetail"]["totalSubTasks"] == 3 and task["progressDetail"]["finishedSubTasks"] == 3
    assert task["progressDetail"]["records"] == 6
    for key in (
        "id",
        "pipelineId",
        "options",
        "message",
        "errorName",
        "failedSubTask",
        "beganAt",
        "finishedAt",
        "spentSeconds",
    ):
        assert key in task
    with pctx.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Issue).where(Issue.type == "INCIDENT")) == 6

    listing = api.get("/pipelines").json()
    assert listing["count"] == 1 and listing["pipelines"][0]["id"] == started["id"]
    assert api.get("/pipelines", params={"status": "TASK_COMPLETED"}).json()["count"] == 1
    assert api.get("/pipelines", params={"status": "TASK_FAILED"}).json()["count"] == 0
    assert api.get("/pipelines", params={"blueprint_id": bp["id"]}).json()["count"] == 1
    assert api.get("/pipelines", params={"blueprint_id": bp["id"] + 1}).json()["count"] == 0
    assert api.get("/pipelines", params={"label": "team-a"}).json()["count"] == 1
    assert api.get("/pipelines", params={"label": "team-b"}).json()["count"] == 0
    assert api.get(f"/blueprints/{bp['id']}/pipelines").json()["pipelines"][0]["id"] == started["id"]
    bad = api.get("/pipelines", params={"status": "DONE"})
    assert bad.status_code == 400 and bad.json()["causes"][0]["field"] == "status"
    assert api.get("/pipelines/999").status_code == 404


def test_pagination(api: httpx.Client, pctx: AppContext) -> None:
    conn = make_connection(pctx, scopes=[{"id": "A"}])
    bp = _blueprint(api, conn, ["A"])
    ids = []
    for _ in range(3):
        ids.append(api.post(f"/blueprints/{bp['id']}/trigger").json()["id"])
        wait_status(api, ids[-1], FINAL)
    page1 = api.get("/pipelines", params={"page": 1, "pageSize": 2}).json()
    page2 = api.get("/pipelines", params={"page": 2, "pageSize": 2}).json()
    assert page1["count"] == page2["count"] == 3
    assert [p["id"] for p in page1["pipelines"] + page2["pipelines"]] == sorted(ids, reverse=True)


def test_stages_in_order_tasks_of_a_stage_concurrently(api: httpx.Client, pctx: AppContext) -> None:
    conn = make_connection(pctx)
    slow = {"batches": 2, "sleep": 0.3}
    plan = [
        [
            {"plugin": "pipefake", "options": {"connectionId": conn, "scopeId": "s1a", **slow}},
            {"plugin": "pipefake", "options": {"connectionId": conn, "scopeId": "s1b", **slow}},
        ],
        [{"plugin": "pipefake", "options": {"connectionId": conn, "scopeId": "s2"}}],
    ]
    bp = api.post("/blueprints", json={"name": "adv", "mode": "ADVANCED", "plan": plan}).json()
    pipeline = api.post(f"/blueprints/{bp['id']}/trigger").json()
    assert wait_status(api, pipeline["id"], FINAL)["status"] == "TASK_COMPLETED"
    spans = {e["scope"]: e for e in fakes.EVENTS if e["subtask"] == "collectThings"}
    a, b, c = spans["s1a"], spans["s1b"], spans["s2"]
    assert a["start"] < b["end"] and b["start"] < a["end"], "tasks of one stage overlap"
    assert c["start"] >= max(a["end"], b["end"]), "stage 2 starts after stage 1 ends"
    tasks = _tasks(api, pipeline["id"])
    assert [(t["pipelineRow"], t["pipelineCol"]) for t in tasks] == [(1, 1), (1, 2), (2, 1)]


def test_progress_is_persisted_while_running(api: httpx.Client, pctx: AppContext) -> None:
    conn = make_connection(pctx, scopes=[{"id": "P", "batches": 8, "batchSize": 2, "sleep": 0.25}])
    bp = _blueprint(api, conn, ["P"])
    pipeline = api.post(f"/blueprints/{bp['id']}/trigger").json()

    def midway() -> dict | None:
        (task,) = _tasks(api, pipeline["id"])
        detail = task["progressDetail"]
        return (
            task
            if task["status"] == "TASK_RUNNING" and 0 < (detail.get("finishedRecords") or 0) < 16
            else None
        )

    task = wait_for(midway, what="progress mid-run")
    assert 0 < task["progress"] < 1
    assert task["progressDetail"]["subTaskName"] == "collectThings"
    assert task["progressDetail"]["subTaskNumber"] == 1 and task["progressDetail"]["totalRecords"] == 16
    assert wait_status(api, pipeline["id"], FINAL)["status"] == "TASK_COMPLETED"


def test_second_trigger_while_running_is_refused_and_disabled_is_400(
    api: httpx.Client, pctx: AppContext
) -> None:
    conn = make_connection(pctx, scopes=[{"id": "S", "batches": 10, "sleep": 0.2}])
    bp = _blueprint(api, conn, ["S"])
    first = api.post(f"/blueprints/{bp['id']}/trigger").json()
    second = api.post(f"/blueprints/{bp['id']}/trigger")
    assert second.status_code == 409, second.text
    assert f"pipeline {first['id']}" in second.json()["message"]
    assert api.delete(f"/blueprints/{bp['id']}").status_code == 409
    assert api.get("/pipelines").json()["count"] == 1
    api.delete(f"/pipelines/{first['id']}")
    wait_status(api, first["id"], FINAL)
    # once it finished the blueprint can run again
    again = api.post(f"/blueprints/{bp['id']}/trigger")
    assert again.status_code == 200, again.text
    api.delete(f"/pipelines/{again.json()['id']}")
    wait_status(api, again.json()["id"], FINAL)

    api.patch(f"/blueprints/{bp['id']}", json={"enable": False})
    r = api.post(f"/blueprints/{bp['id']}/trigger")
    assert r.status_code == 400 and r.json()["causes"][0]["field"] == "enable"
    r = api.post(f"/blueprints/{bp['id']}/trigger", json={"skipCollector": True})
    assert r.status_code == 400 and r.json()["causes"][0]["field"] == "skipCollector"


def test_cancel_mid_run(api: httpx.Client, pctx: AppContext) -> None:
    conn = make_connection(pctx, scopes=[{"id": "C", "batches": 50, "batchSize": 2, "sleep": 0.1}])
    bp = _blueprint(api, conn, ["C"])
    pipeline = api.post(f"/blueprints/{bp['id']}/trigger").json()
    wait_for(
        lambda: _tasks(api, pipeline["id"])[0]["progressDetail"].get("finishedRecords"), what="collecting"
    )
    r = api.delete(f"/pipelines/{pipeline['id']}")
    assert r.status_code == 200 and r.json()["cancelRequested"] in (True, False)
    done = wait_status(api, pipeline["id"], FINAL, timeout=10)
    assert done["status"] == "TASK_CANCELLED" and done["finishedTasks"] == 0
    (task,) = _tasks(api, pipeline["id"])
    assert task["status"] == "TASK_CANCELLED"
    with pctx.db.session() as s:
        written = s.scalar(select(func.count()).select_from(Issue))
    assert 0 < written < 100 and written % 2 == 0, "whole batches only"
    assert api.delete(f"/pipelines/{pipeline['id']}").status_code == 409  # already finished


def test_rerun_after_failure_reruns_only_failed_tasks(
    api: httpx.Client, pctx: AppContext, tmp_path: Path
) -> None:
    marker = tmp_path / "broken"
    marker.touch()
    conn = make_connection(pctx, scopes=[{"id": "OK"}, {"id": "BAD", "failMarker": str(marker)}])
    bp = _blueprint(api, conn, ["OK", "BAD"])
    pipeline = api.post(f"/blueprints/{bp['id']}/trigger").json()
    failed = wait_status(api, pipeline["id"], FINAL)
    assert failed["status"] == "TASK_FAILED"
    assert "collectThings" in failed["message"] and failed["errorName"] == "RuntimeError"
    tasks = {t["options"]["scopeId"]: t for t in _tasks(api, pipeline["id"])}
    assert tasks["OK"]["status"] == "TASK_COMPLETED"
    assert tasks["BAD"]["status"] == "TASK_FAILED" and tasks["BAD"]["failedSubTask"] == "collectThings"

    # a rerun while the cause persists fails again, in the same pipeline
    r = api.post(f"/pipelines/{pipeline['id']}/rerun")
    assert r.status_code == 200, r.text
    assert wait_status(api, pipeline["id"], FINAL)["status"] == "TASK_FAILED"

    marker.unlink()
    fakes.EVENTS.clear()
    r = api.post(f"/pipelines/{pipeline['id']}/rerun")
    assert r.status_code == 200 and r.json()["id"] == pipeline["id"]
    done = wait_status(api, pipeline["id"], FINAL)
    assert done["status"] == "TASK_COMPLETED" and done["finishedTasks"] == 2 and done["message"] == ""
    assert {e["scope"] for e in fakes.EVENTS} == {"BAD"}, "only the failed task ran again"
    assert [t["status"] for t in _tasks(api, pipeline["id"])] == ["TASK_COMPLETED", "TASK_COMPLETED"]
    assert len(_tasks(api, pipeline["id"], attempts=True)) == 4  # OK once, BAD three times
    assert api.post(f"/pipelines/{pipeline['id']}/rerun").status_code == 400  # nothing left to rerun
    assert api.get("/pipelines").json()["count"] == 1


def test_skip_on_fail_gives_partial(api: httpx.Client, pctx: AppContext) -> None:
    conn = make_connection(pctx, scopes=[{"id": "OK"}, {"id": "BAD", "failIn": "extractThings"}])
    bp = _blueprint(api, conn, ["OK", "BAD"], skipOnFail=True)
    done = wait_status(api, api.post(f"/blueprints/{bp['id']}/trigger").json()["id"], FINAL)
    assert done["status"] == "TASK_PARTIAL" and done["finishedTasks"] == 1 and done["totalTasks"] == 2
    assert "skipOnFail" in done["message"]


def test_failure_stops_later_stages_unless_skip_on_fail(api: httpx.Client, pctx: AppContext) -> None:
    conn = make_connection(pctx)
    plan = [
        [
            {
                "plugin": "pipefake",
                "options": {"connectionId": conn, "scopeId": "x", "failIn": "convertThings"},
            }
        ],
        [{"plugin": "pipefake", "options": {"connectionId": conn, "scopeId": "y"}}],
    ]
    bp = api.post("/blueprints", json={"name": "adv", "mode": "ADVANCED", "plan": plan}).json()
    done = wait_status(api, api.post(f"/blueprints/{bp['id']}/trigger").json()["id"], FINAL)
    assert done["status"] == "TASK_FAILED"
    assert [t["status"] for t in _tasks(api, done["id"])] == ["TASK_FAILED", "TASK_CREATED"]

    api.patch(f"/blueprints/{bp['id']}", json={"skipOnFail": True})
    done = wait_status(api, api.post(f"/blueprints/{bp['id']}/trigger").json()["id"], FINAL)
    assert done["status"] == "TASK_PARTIAL"
    assert [t["status"] for t in _tasks(api, done["id"])] == ["TASK_FAILED", "TASK_COMPLETED"]


def test_trigger_options_full_sync_and_skip_collectors(api: httpx.Client, pctx: AppContext) -> None:
    conn = make_connection(pctx, scopes=[{"id": "F"}])
    bp = _blueprint(api, conn, ["F"])
    done = wait_status(
        api,
        api.post(f"/blueprints/{bp['id']}/trigger", json={"fullSync": True, "skipCollectors": True}).json()[
            "id"
        ],
        FINAL,
    )
    assert done["status"] == "TASK_COMPLETED" and done["fullSync"] and done["skipCollectors"]
    assert done["plan"][0][0]["options"]["fullSync"] is True
    assert [e["subtask"] for e in fakes.EVENTS] == ["extractThings", "convertThings"]
    assert all(e["fullSync"] for e in fakes.EVENTS)


def test_project_blueprint_maps_scopes_and_ends_with_dora(api: httpx.Client, pctx: AppContext) -> None:
    with pctx.db.session() as s:
        s.execute(insert(Project).values(name="shop"))
    conn = make_connection(pctx, scopes=[{"id": "A"}, {"id": "B"}])
    bp = _blueprint(api, conn, ["A", "B"], projectName="shop")
    pipeline = api.post(f"/blueprints/{bp['id']}/trigger").json()
    assert [[t["plugin"] for t in stage] for stage in pipeline["plan"]] == [
        ["pipefake", "pipefake"],
        ["dora"],
    ]
    assert pipeline["plan"][1][0]["options"] == {"projectName": "shop"}
    done = wait_status(api, pipeline["id"], FINAL)
    assert done["status"] == "TASK_COMPLETED" and done["totalTasks"] == 3
    assert fakes.EVENTS[-1]["subtask"] == "dora"
    with pctx.db.session() as s:
        rows = s.execute(select(ProjectMapping.table, ProjectMapping.row_id)).all()
    assert sorted(rows) == [("boards", f"pipefake:{conn}:A"), ("boards", f"pipefake:{conn}:B")]


@pytest.mark.parametrize("what", ["missing connection", "bad option"])
def test_task_that_cannot_start_fails_cleanly(api: httpx.Client, pctx: AppContext, what: str) -> None:
    conn = make_connection(pctx)
    options = {"connectionId": conn, "scopeId": "z"}
    plan = [[{"plugin": "pipefake", "options": options}]]
    bp = api.post("/blueprints", json={"name": "adv", "mode": "ADVANCED", "plan": plan}).json()
    with pctx.db.session() as s:  # break it behind the API's back (the API would refuse)
        if what == "missing connection":
            s.execute(delete(Connection))
        else:
            s.get(Blueprint, bp["id"]).plan = [
                [{"plugin": "pipefake", "options": {**options, "batches": "many"}}]
            ]
    done = wait_status(api, api.post(f"/blueprints/{bp['id']}/trigger").json()["id"], FINAL)
    assert done["status"] == "TASK_FAILED"
    assert (
        ("not found" in done["message"]) if what == "missing connection" else ("batches" in done["message"])
    )


def test_notify_targets_hear_about_finished_pipelines(api: httpx.Client, pctx: AppContext) -> None:
    conn = make_connection(pctx, scopes=[{"id": "N", "batches": 2, "batchSize": 2}])
    broken = make_connection(pctx, name="explodes")
    body = {
        "name": "told",
        "connections": [{"pluginName": "pipefake", "connectionId": conn, "scopes": [{"scopeId": "N"}]}],
        "notify": [{"pluginName": "pipefake", "connectionId": 99}],
    }
    r = api.post("/blueprints", json=body)
    assert r.status_code == 400 and r.json()["causes"][0]["field"] == "notify.0.connectionId"

    body["notify"] = [
        {"pluginName": "pipefake", "connectionId": broken},
        {"pluginName": "pipefake", "connectionId": conn},
    ]
    bp = api.post("/blueprints", json=body).json()
    assert [t["connectionId"] for t in bp["notify"]] == [broken, conn]
    done = wait_status(api, api.post(f"/blueprints/{bp['id']}/trigger").json()["id"], FINAL)
    assert done["status"] == "TASK_COMPLETED"  # a failing notification changes nothing
    wait_for(lambda: len(fakes.NOTIFIED) == 2, what="both notifications")
    (_, event) = fakes.NOTIFIED[1]
    assert event["pipelineId"] == done["id"] and event["blueprintName"] == "told"
    assert event["status"] == "TASK_COMPLETED" and event["records"] == {"pipefake": 4}
    assert event["tasks"] == [
        {"plugin": "pipefake", "scopeId": "N", "status": "TASK_COMPLETED", "records": 4, "message": None}
    ]
