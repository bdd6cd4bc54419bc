"""The dashboard as a person uses it: a real Chromium against the real app, whose submissions
are really planned, run by the local engine and monitored."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.gateway.pegasus_workflows import EXPECTED_OUTPUT, build_failing, build_pipeline
from tests.web.conftest import Browser, LiveGateway

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BROKEN_WORKFLOW = """\
pegasus: '5.0'
name: broken
jobs:
- type: job
  name: a
  id: ID1
  arguments: []
  uses:
  - lfn: f.x
    type: inptu
"""


def build_sleeper(d: Path, seconds: int = 120) -> dict[str, Path]:
    from Pegasus.api import Job, Transformation, TransformationCatalog, Workflow

    d.mkdir(parents=True, exist_ok=True)
    tc = TransformationCatalog().add_transformations(
        Transformation("sleep", site="local", pfn="/bin/sleep", is_stageable=False)
    )
    Workflow("sleeper").add_jobs(Job("sleep", _id="ID1").add_args(str(seconds))).write(
        str(d / "workflow.yml")
    )
    tc.write(str(d / "transformations.yml"))
    return {"workflow": d / "workflow.yml", "transformations": d / "transformations.yml"}


def submit(
    browser: Browser, docs: dict[str, Path], *, sites: str = "local", labels: str = ""
) -> None:
    browser.open("/runs/new")
    for field, path in docs.items():
        browser.find(f"input[type=file]#{field}").send_keys(str(path))
    browser.find("#execution_sites").send_keys(sites)
    if labels:
        browser.find("#labels").send_keys(labels)
    browser.click("form.card button.primary")


def run_id_of(browser: Browser) -> str:
    assert browser.path.startswith("/runs/"), browser.path
    return browser.path.split("/")[2]


def test_home_page_shows_who_is_logged_in(browser: Browser) -> None:
    browser.open("/runs")
    assert browser.path.startswith("/?next=")  # pages need a login
    assert "Not logged in" in browser.text

    browser.login("alice")
    assert browser.path == "/runs"  # back on the page that asked for the login
    assert browser.find("header .who").text == "Logged in as alice (admin)"
    assert [a.text for a in browser.find_all("header nav.main a")] == [
        "Runs",
        "New run",
        "API tokens",
        "Admin",
    ]


def test_submitted_run_goes_live_to_success_with_graph_timeline_statistics_and_output(
    browser: Browser, gateway: LiveGateway, tmp_path: Path
) -> None:
    browser.login("alice")
    submit(browser, build_pipeline(tmp_path / "pipeline"), labels="project=demo")
    run_id = run_id_of(browser)
    assert "Submitted “pipeline”" in browser.find(".flash.success").text

    # No reload from here on: the page follows the run by itself (SSE + live fragments).
    browser.wait_for("#status[data-state=succeeded]", timeout=90)
    browser.wait_for("#outputs tr.output")

    jobs = {row.get_attribute("data-job"): row for row in browser.find_all("tr.job-row")}
    assert {"upper_ID1", "upper_ID2", "join_ID3"} <= set(jobs)
    assert {row.get_attribute("data-state") for row in jobs.values()} == {"succeeded"}

    dag = browser.find("svg#dag")
    nodes = browser.find_all("svg#dag g.node")
    assert len(nodes) == len(jobs) == int(dag.get_attribute("data-nodes") or 0)
    assert {n.get_attribute("data-state") for n in nodes} == {"succeeded"}
    edges = browser.find_all("svg#dag path.edge")
    assert len(edges) >= 3  # at least upper_ID1/ID2 -> join_ID3 and what the planner added
    # Layered top to bottom: join_ID3 is drawn below both of its parents.
    y = {
        n.get_attribute("data-job"): float(
            n.find_element(By.TAG_NAME, "rect").get_attribute("y") or 0
        )
        for n in nodes
    }
    assert y["join_ID3"] > y["upper_ID1"] and y["join_ID3"] > y["upper_ID2"]

    bars = browser.find_all("svg#gantt g.bar")
    assert len(bars) == len(jobs)  # every job ran exactly once
    assert {b.get_attribute("data-outcome") for b in bars} == {"succeeded"}
    assert all(b.find_elements(By.CSS_SELECTOR, "rect.run") for b in bars)

    summary = browser.find("#statistics table.summary").text
    assert f"Jobs {len(jobs)} 0 0 {len(jobs)} 0 {len(jobs)}" in summary
    chart_labels = [t.text for t in browser.find_all("#runtime-chart g.tr-bar text:first-of-type")]
    assert "upper" in chart_labels and "join" in chart_labels

    link = browser.find("#outputs a[download]")
    assert link.text == "f.out"
    download = browser.fetch(f"/api/v1/workflows/{run_id}/files/f.out")
    assert download == {"status": 200, "text": EXPECTED_OUTPUT}

    # A job's own page: its attempt, invocation record and output.
    browser.click("tr.job-row[data-job=join_ID3] a")
    assert browser.find("h1").text == "join_ID3"
    assert len(browser.find_all("section.instance")) == 1
    invocations = [r.text for r in browser.find_all("tr.invocation")]
    assert any(text.startswith("1 join") for text in invocations), invocations

    browser.open("/runs")
    row = browser.find(f"tr.run-row[data-run='{run_id}']")
    assert "pipeline" in row.text and "succeeded" in row.text and "project=demo" in row.text
    assert f"{len(jobs)}/{len(jobs)} jobs" in row.text

    Select(browser.find("#f-state")).select_by_value("failed")
    browser.click("form.filters button[type=submit]")
    assert not browser.find_all(f"tr.run-row[data-run='{run_id}']")
    browser.open("/runs?label=project%3Ddemo")
    assert browser.find_all(f"tr.run-row[data-run='{run_id}']")


def test_invalid_upload_lists_each_problem_with_file_and_line(
    browser: Browser, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(BROKEN_WORKFLOW)
    browser.login("bob")
    browser.open("/runs/new")
    browser.find("#workflow").send_keys(str(broken))
    browser.click("form.card button.primary")

    assert browser.path == "/runs/new"
    problems = [p.text for p in browser.find_all("#problems li.problem")]
    assert any(
        p.startswith("workflow.yml:10: jobs[0].uses[0].type:") and "inptu" in p for p in problems
    ), problems
    browser.open("/runs")
    assert not browser.find_all("tr.run-row")  # nothing was stored


def test_token_secret_is_shown_once_and_works_until_revoked(
    browser: Browser, gateway: LiveGateway
) -> None:
    browser.login("bob")
    browser.open("/tokens")
    browser.find("#token-name").send_keys("notebook")
    browser.click("#create-token button.primary")

    secret = browser.find("#token-secret").text.strip()
    me = httpx.get(f"{gateway.base_url}/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200 and me.json()["name"] == "bob"

    browser.open("/tokens")
    assert not browser.find_all("#token-secret")
    assert secret not in browser.driver.page_source
    row = next(r for r in browser.find_all("tr.token") if "notebook" in r.text)
    assert "active" in row.text
    browser.click(row.find_element(By.CSS_SELECTOR, "button.danger"))

    assert "Revoked token “notebook”" in browser.find(".flash.success").text
    assert "revoked" in next(r for r in browser.find_all("tr.token") if "notebook" in r.text).text
    again = httpx.get(
        f"{gateway.base_url}/api/v1/me", headers={"Authorization": f"Bearer {secret}"}
    )
    assert again.status_code == 401


def test_another_users_run_is_a_404_page(
    browser: Browser, gateway: LiveGateway, tmp_path: Path
) -> None:
    browser.login("alice")
    submit(browser, build_sleeper(tmp_path / "sleeper", seconds=1))
    run_id = run_id_of(browser)

    browser.logout()
    browser.login("bob")
    for path in (f"/runs/{run_id}", f"/runs/{run_id}/jobs/sleep_ID1", f"/runs/{run_id}/live"):
        browser.open(path)
        assert browser.find("h1").text == "Not found", path
        assert run_id in browser.text
    assert browser.fetch(f"/runs/{run_id}/live")["status"] == 404
    browser.open("/runs")
    assert not browser.find_all(f"tr.run-row[data-run='{run_id}']")


def test_cancel_and_delete_are_csrf_protected_posts(
    browser: Browser, gateway: LiveGateway, tmp_path: Path
) -> None:
    browser.login("alice")
    submit(browser, build_sleeper(tmp_path / "sleeper", seconds=300))
    run_id = run_id_of(browser)
    browser.wait_for("#status[data-state=running]", timeout=60)

    forged = browser.fetch(f"/runs/{run_id}/cancel", method="POST")
    assert forged["status"] == 403 and "CSRF" in forged["text"]
    assert browser.fetch(f"/runs/{run_id}/live")["text"].count('"state":"running"') == 1

    browser.click("form[action$='/cancel'] button")
    assert "Cancelled “sleeper”" in browser.find(".flash.success").text
    assert browser.find("#status").get_attribute("data-state") == "cancelled"

    browser.click("form[action$='/delete'] button")  # accepts the confirm() dialog
    assert browser.path == "/runs"
    assert "Deleted “sleeper”" in browser.find(".flash.success").text
    assert not browser.find_all(f"tr.run-row[data-run='{run_id}']")
    assert not (gateway.settings.data_dir / "runs" / run_id).exists()


def test_imported_pegasus_run_is_listed_with_an_imported_badge(
    browser: Browser, gateway: LiveGateway
) -> None:
    run_id = gateway.import_pegasus_run("process_wf_failure", "alice")
    browser.login("alice")
    browser.open("/runs")
    row = browser.find(f"tr.run-row[data-run='{run_id}']")
    assert row.find_element(By.CSS_SELECTOR, ".badge.imported").text == "imported"
    assert "failed" in row.text and "pegasus-import" in row.text
    native = [r for r in browser.find_all("tr.run-row") if r.get_attribute("data-run") != run_id]
    assert all(not r.find_elements(By.CSS_SELECTOR, ".badge.imported") for r in native)

    browser.click(row.find_element(By.CSS_SELECTOR, "a"))
    assert browser.find("h1 + .badge.imported").text == "imported"
    assert browser.find("#status").get_attribute("data-state") == "failed"
    assert len(browser.find_all("svg#dag g.node")) == 5
    assert browser.find("svg#dag g.node[data-job=ls_ID0000001]").get_attribute("data-state") == (
        "failed"
    )
    assert len(browser.find_all("svg#gantt g.bar")) == 3  # 3 attempts (ls ran twice)
    analysis = browser.find("#analysis").text
    assert "ls_ID0000001" in analysis and "invalid option" in analysis
    assert not browser.find_all("form[action$='/retry']")  # nothing to re-plan from
    assert browser.find_all("form[action$='/delete']")


def test_admin_disables_a_user_and_sets_a_quota(browser: Browser, gateway: LiveGateway) -> None:
    gateway.add_user("carol")
    browser.login("bob")
    browser.open("/admin/users")
    assert browser.find("h1").text == "Not found"
    assert "Admin" not in [a.text for a in browser.find_all("header nav.main a")]

    browser.logout()
    browser.login("alice")
    browser.open("/admin/users")
    browser.click("tr.user-row[data-user=carol] button[data-action=disable]")
    assert "carol: disable done" in browser.find(".flash.success").text
    assert "disabled" in browser.find("tr.user-row[data-user=carol]").text

    Select(browser.find("#q-user")).select_by_value("carol")
    browser.find("#q-runs").send_keys("2")
    browser.find("#q-jobs").send_keys("50")
    browser.click("#quota-form button.primary")
    quota = browser.find("tr.user-row[data-user=carol]").text
    assert "2 / 50 / ∞" in quota and "(default)" not in quota

    # the last enabled admin cannot take their own admin away
    browser.click("tr.user-row[data-user=alice] button[data-action=remove-admin]")
    assert "last enabled admin" in browser.find(".flash.error").text

    browser.logout()
    browser.login("carol")  # disabled: the link no longer logs in
    assert "Login link not valid" in browser.text


def test_runs_list_follows_a_running_run_without_a_reload(browser: Browser, tmp_path: Path) -> None:
    browser.login("alice")
    submit(browser, build_sleeper(tmp_path / "sleeper", seconds=3), labels="kind=nap")
    run_id = run_id_of(browser)
    browser.open("/runs?label=kind")
    row = f"tr.run-row[data-run='{run_id}']"
    assert browser.find(row).get_attribute("data-terminal") == "false"
    browser.driver.execute_script("window.notReloaded = true")

    browser.wait_for(f"{row} .badge[data-state=succeeded]", timeout=60)
    assert re.search(r"\b(\d+)/\1 jobs", browser.find(row).text)  # all done
    assert browser.driver.execute_script("return window.notReloaded") is True


def test_a_failed_run_shows_what_went_wrong_and_a_retry_finishes_it(
    browser: Browser, tmp_path: Path
) -> None:
    flag = tmp_path / "fixed"
    browser.login("alice")
    submit(browser, build_failing(tmp_path / "failing", flag))
    run_id = run_id_of(browser)
    browser.wait_for("#status[data-state=failed]", timeout=90)
    browser.wait_for("#analysis")

    analysis = browser.find("#analysis").text
    assert "second_ID2" in analysis and "about to fail" in analysis
    assert "first_ID1" not in analysis
    row = browser.find("tr.job-row[data-job=second_ID2]")
    assert row.get_attribute("data-state") == "failed"
    assert browser.find("svg#dag g.node[data-job=second_ID2]").get_attribute("data-state") == (
        "failed"
    )
    assert browser.find("svg#dag g.node[data-job=first_ID1]").get_attribute("data-state") == (
        "succeeded"
    )
    bar = browser.find("svg#gantt g.bar[data-job=second_ID2]")
    assert bar.get_attribute("data-outcome") == "failed"

    browser.click(row.find_element(By.CSS_SELECTOR, "a"))
    task = next(r for r in browser.find_all("tr.invocation") if r.text.startswith("1 second"))
    assert task.find_element(By.CSS_SELECTOR, "td:nth-child(3)").text == "3"  # the task's exit
    assert "exited with code 3" in browser.find("pre.stderr").text
    browser.open(f"/runs/{run_id}")

    flag.touch()  # the user fixes the problem, then presses Retry
    browser.click("form[action$='/retry'] button")
    assert "Resubmitted “failing”" in browser.find(".flash.success").text
    assert "retry requested" in browser.find("#activity").text
    browser.wait_for("#status[data-state=succeeded]", timeout=90)
    assert browser.path == f"/runs/{run_id}"
    # the rescue DAG skipped what had succeeded: `first` ran once in all
    assert (tmp_path / "failing" / "first.count").read_text().count("ran") == 1
    attempts = browser.find_all("svg#gantt g.bar[data-job=second_ID2]")
    assert [b.get_attribute("data-outcome") for b in attempts] == ["failed", "succeeded"]
    browser.click("tr.job-row[data-job=second_ID2] a")
    headings = [h.text for h in browser.find_all("section.instance h2")]
    assert [h.splitlines()[0] for h in headings] == ["Attempt 1", "Attempt 2"], headings
    assert "exit 0" in headings[1]
