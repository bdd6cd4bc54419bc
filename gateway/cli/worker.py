"""`aerie worker` and `aerie beat`: the Celery processes of a deployment with a broker.

They are lazily imported from `worker.celery_app` (the CLI is the composition root; the rest
of the gateway never imports the worker).
"""

from __future__ import annotations

import click

from gateway.cli._common import load_settings

_PASS_THROUGH = {"ignore_unknown_options": True, "allow_extra_args": True}


def _require_broker() -> None:
    if load_settings().embedded:
        raise click.ClickException(
            "AERIE_REDIS_URL is not set: in the embedded default, tasks run inside "
            "`aerie serve`; set a Redis URL to run separate workers"
        )


@click.command("worker", context_settings=_PASS_THROUGH)
@click.option("--loglevel", "-l", default="INFO", show_default=True)
@click.option("--concurrency", "-c", type=int, default=None, help="Worker processes.")
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def worker(loglevel: str, concurrency: int | None, celery_args: tuple[str, ...]) -> None:
    """Run a Celery worker for Aerie's tasks (extra arguments go to `celery worker`)."""
    _require_broker()
    from worker.celery_app import create_celery_app

    app = create_celery_app(load_settings())
    argv = ["worker", f"--loglevel={loglevel}", *celery_args]
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    app.worker_main(argv)


@click.command("beat", context_settings=_PASS_THROUGH)
@click.option("--loglevel", "-l", default="INFO", show_default=True)
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def beat(loglevel: str, celery_args: tuple[str, ...]) -> None:
    """Run Celery beat, which sends Aerie's periodic tasks (run exactly one per deployment)."""
    _require_broker()
    from worker.celery_app import create_celery_app

    app = create_celery_app(load_settings())
    app.start(["beat", f"--loglevel={loglevel}", *celery_args])
