"""The dashboard's own read models against runs imported from Pegasus's real submit
directories: the paged jobs table must say exactly what the API's job list says, and the Gantt
spans must match the job attempts."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.db import migrate
from gateway.db.models import Run
from gateway.db.session import Database
from gateway.services import run_details, web_views
from gateway.services import users as user_service
from gateway.settings import Settings
from tests.web.conftest import shared_dir

SUBMIT_DIRS = shared_dir() / "pegasus" / "fixtures" / "submit-dirs"
RUNS = ["process_wf_failure", "hierarchical_wf_failure", "sample_wf_held"]


@pytest.fixture(scope="module")
def imported(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Database, dict[str, str]]]:
    from worker.pegasus_import.importer import import_submit_dir

    tmp = tmp_path_factory.mktemp("views")
    settings = Settings(data_dir=tmp / "data", secret_key="test-secret-key-not-for-production")
    migrate.upgrade(settings.database_url)
    db = Database.from_settings(settings)
    ids = {}
    with db.session_scope() as session:
        user_service.create_user(session, name="alice")
    for name in RUNS:
        copy = tmp / name
        shutil.copytree(SUBMIT_DIRS / name, copy, ignore=shutil.ignore_patterns("*.stampede.db"))
        with db.session_scope() as session:
            ids[name] = import_submit_dir(session, Path(copy), "alice").run_id
    yield db, ids
    db.dispose()


def _as_rows(summaries: list[run_details.JobSummary]) -> list[tuple[object, ...]]:
    return [
        (s.job.exec_job_id, s.state, s.transformation, s.retries, s.exitcode, s.site)
        for s in summaries
    ]


@pytest.mark.parametrize("name", RUNS)
def test_jobs_page_says_what_the_api_job_list_says(
    imported: tuple[Database, dict[str, str]], name: str
) -> None:
    db, ids = imported
    with db.session_scope() as session:
        run = session.get(Run, ids[name])
        assert run is not None
        everything, _ = run_details.list_jobs(session, run, limit=10_000)
        page, more = web_views.jobs_page(session, run, limit=10_000)
        assert _as_rows(page) == _as_rows(everything)
        assert not more
        assert len({s.state for s in everything}) >= 2  # not a trivially uniform table

        # page by page, in the same order
        pages, offset = [], 0
        while True:
            chunk, more = web_views.jobs_page(session, run, offset=offset, limit=3)
            pages += chunk
            offset += 3
            if not more:
                break
        assert _as_rows(pages) == _as_rows(everything)

        for s in everything:
            if s.transformation:
                by_tr, _ = web_views.jobs_page(session, run, transformation=s.transformation)
                want, _ = run_details.list_jobs(session, run, transformation=s.transformation)
                assert _as_rows(by_tr) == _as_rows(want)
            by_type, _ = web_views.jobs_page(session, run, type_=s.job.type_desc)
            want, _ = run_details.list_jobs(session, run, type_=s.job.type_desc)
            assert _as_rows(by_type) == _as_rows(want)


def test_facets_and_gantt_spans_of_an_imported_run(
    imported: tuple[Database, dict[str, str]],
) -> None:
    db, ids = imported
    with db.session_scope() as session:
        run = session.get(Run, ids["process_wf_failure"])
        assert run is not None and web_views.is_imported(run)
        facets = web_views.job_facets(session, run)
        assert facets.jobs == 5
        assert "compute" in facets.types and "ls" in facets.transformations

        spans, total = web_views.instance_spans(session, run)
        assert total == len(spans) == 3
        ls = [s for s in spans if s.job == "ls_ID0000001"]
        assert [(s.attempt, s.outcome) for s in ls] == [(1, "failed"), (2, "failed")]
        for s in spans:
            assert s.submitted is not None and s.started is not None and s.ended is not None
            assert s.submitted <= s.started <= s.ended

        few, total = web_views.instance_spans(session, run, limit=2)
        assert total == 3 and len(few) == 2
