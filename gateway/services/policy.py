"""The site policy applied to one user's run: built from settings, checked by the planner.

Admins are trusted (the embedded default's first user is one, so a scientist on a laptop is not
restricted) unless `policy.confine_admins`; every other user may name only:

- files under `policy.input_roots` (read) and `policy.output_roots` (read + write);
- their own area `<data_dir>/users/<user id>/` and the run's own directory
  `<data_dir>/runs/<run id>/` (read, write and — with `allow_user_executables` — run);
- installed executables under `policy.executable_roots`;
- URLs with a scheme in `policy.url_schemes`.

Anything else inside the data directory (secret key, database, other users' areas and runs) is
refused even when an allowed root contains it. The same check runs when a submission is accepted
(422 naming file, line and field) and again in the worker before planning (a run whose owner
was demoted, or whose documents changed, fails there).
"""

from __future__ import annotations

from pathlib import Path

from gateway.db.models import User
from gateway.services.run_layout import run_root
from gateway.settings import Settings
from planner.errors import Problem
from planner.inputs import PlanInputs
from planner.policy import SitePolicy, check_policy

USERS_DIR = "users"


def user_area(settings: Settings, user_id: int | str) -> Path:
    """A user's own files (uploads and outputs they keep): `<data_dir>/users/<user id>/`."""
    return Path(settings.data_dir) / USERS_DIR / str(user_id)


def policy_for(settings: Settings, user: User, run_id: str) -> SitePolicy | None:
    """The policy confining `user` in run `run_id`, or None when the user is trusted."""
    conf = settings.policy
    if user.is_admin and not conf.confine_admins:
        return None
    own = (user_area(settings, user.id), run_root(settings, run_id))
    return SitePolicy(
        read_roots=tuple(conf.input_roots),
        write_roots=tuple(conf.output_roots),
        executable_roots=tuple(conf.executable_roots),
        own_roots=own,
        protected=(Path(settings.data_dir),),
        url_schemes=frozenset(s.lower() for s in conf.url_schemes),
        allow_own_executables=conf.allow_user_executables,
    )


def check_inputs(inputs: PlanInputs, policy: SitePolicy | None) -> list[Problem]:
    """Every policy problem of a loaded planning run (none for a trusted user)."""
    if policy is None:
        return []
    cats = inputs.catalogs
    props_files: list[str | None] = [*inputs.files.get("properties", [])] or [None]
    return check_policy(
        inputs.workflow,
        cats.replicas.catalogs,
        cats.transformations.catalogs,
        cats.sites.catalogs,
        dict(inputs.properties.values),
        policy,
        properties_file=props_files[0],
    )


def check_paths(paths: list[str], policy: SitePolicy | None, field: str) -> list[Problem]:
    """Problems for plan options that name directories (`reuse`: earlier submit dirs)."""
    if policy is None:
        return []
    return [
        Problem(
            None, None, f"{field}[{i}]", f"{p} is outside the directories you may read", "policy"
        )
        for i, p in enumerate(paths)
        if not policy.may_read(p)
    ]
