"""The worker's half of job isolation: file rights in the data directory for the job account.

The local engine drops every job to `local_engine.job_user` (see
`worker.engines.local.isolation`); this module, which knows the run layout, makes the data
directory safe for that and gives the job account exactly the run directories jobs write to:

- `<data_dir>` and `runs/`, `users/`, the run's own directory: 0711 (the job account may pass
  through to its scratch and staging directories, not list other runs);
- `secret_key` and the SQLite database (with its journal files): 0600, owned by the gateway's
  account — a job cannot read them;
- the run's `wf-scratch/` (staging, the shared workflow directory) and `wf-output/` (the local
  output site), and the owner's area `users/<id>/`: owned by the job account, because jobs and
  transfer jobs write there.

The submit directory stays the gateway's; the engine opens its hashed job directories to the
job account's group itself.
"""

from __future__ import annotations

import os
from pathlib import Path

from gateway.services.run_layout import run_root
from gateway.settings import SECRET_KEY_FILE, Settings
from worker.engines.local.config import EngineConfig
from worker.engines.local.isolation import JobIdentity, identity_for

WRITABLE = ("wf-scratch", "wf-output")
"""Run directories jobs write to (planner.catalogs.default_local_site)."""


def engine_config(settings: Settings) -> EngineConfig | None:
    """The local engine's configuration from settings (None: the engine's own defaults)."""
    job_user = settings.local_engine.job_user
    return EngineConfig(job_user=job_user) if job_user else None


def job_identity(settings: Settings) -> JobIdentity | None:
    """The job account, or None when isolation is off; IsolationError when unusable."""
    return identity_for(settings.local_engine.job_user)


def harden_data_dir(settings: Settings) -> None:
    """Lock the secrets and make the data dir traversable but not listable."""
    data = Path(settings.data_dir)
    for directory in (data, data / "runs", data / "users"):
        if directory.is_dir():
            os.chmod(directory, 0o711)
    secrets = [data / SECRET_KEY_FILE]
    if settings.is_sqlite:
        db = Path(settings.database_url.split("///", 1)[-1])
        secrets += [db, *(db.with_name(db.name + s) for s in ("-wal", "-shm", "-journal"))]
    for path in secrets:
        if path.is_file() and not path.is_symlink():
            os.chmod(path, 0o600)


def prepare_run(
    settings: Settings, run_id: str, identity: JobIdentity, owner_id: int | None = None
) -> None:
    """Give the job account the run's staging and output directories, and the owner's area
    (`<data_dir>/users/<id>/`, where the user's own site directories may point)."""
    data = Path(settings.data_dir)
    if owner_id is not None:
        area = data / "users" / str(owner_id)
        area.mkdir(parents=True, exist_ok=True)
        os.chown(area, identity.uid, identity.gid, follow_symlinks=False)
    harden_data_dir(settings)
    root = run_root(settings, run_id)
    os.chmod(root, 0o711)
    for name in WRITABLE:
        path = root / name
        path.mkdir(exist_ok=True)
        _chown_tree(path, identity)


def _chown_tree(path: Path, identity: JobIdentity) -> None:
    os.chown(path, identity.uid, identity.gid, follow_symlinks=False)
    for dirpath, dirnames, filenames in os.walk(path):
        for name in [*dirnames, *filenames]:
            os.chown(os.path.join(dirpath, name), identity.uid, identity.gid, follow_symlinks=False)
