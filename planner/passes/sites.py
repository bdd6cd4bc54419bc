"""Site selection and profile merging (SPEC §2.3, §1.7).

Every compute job gets an execution site (pinned by the ``selector`` profile
``execution.site``, else chosen by ``pegasus.selector.site``: Random, RoundRobin or Group), the
transformation-catalog entry it runs from, a data configuration, a staging site, and its
profiles merged with Pegasus's precedence: transformation site entry > transformation > site
catalog > job > workflow > properties. Sub-workflow jobs always run on ``local``.
"""

from __future__ import annotations

from collections import defaultdict

from planner.passes.catalog import file_server
from planner.passes.errors import fail
from planner.passes.state import PlanState, StagingArea, Task
from planner.spec import Job, Profiles, Site, Transformation, TransformationSite

DATA_CONFIGS = ("condorio", "nonsharedfs", "sharedfs")
NAMESPACES = ("env", "condor", "globus", "dagman", "pegasus", "selector")
SELECTORS = ("random", "roundrobin", "group")


def merge_profiles(into: dict[str, dict[str, str]], profiles: Profiles) -> None:
    for ns in NAMESPACES:
        values = getattr(profiles, ns)
        if values:
            into.setdefault(ns, {}).update(values)
    if profiles.hints:
        sel = into.setdefault("selector", {})
        for key, value in profiles.hints.items():
            sel[{"executionPool": "execution.site", "pfnHint": "pfn"}.get(key, key)] = value


def property_profiles(properties: dict[str, str]) -> dict[str, dict[str, str]]:
    """``condor.*``, ``dagman.*``, ``env.*``, ``globus.*`` properties as the lowest profiles."""
    out: dict[str, dict[str, str]] = {}
    for key, value in properties.items():
        ns, _, rest = key.partition(".")
        if rest and ns in ("condor", "dagman", "env", "globus"):
            out.setdefault(ns, {})[rest.upper() if ns == "dagman" else rest] = value
    return out


def _compatible(entry: TransformationSite, site: Site) -> bool:
    if entry.arch is not None and entry.arch != site.arch:
        return False
    if entry.os_type is not None and entry.os_type != site.os_type:
        return False
    return True


def _entry_for(tx: Transformation, site: Site) -> TransformationSite | None:
    """The TC entry a job on ``site`` runs: installed there first, else a compatible stageable."""
    for entry in tx.sites:
        if entry.name == site.name and entry.type == "installed":
            return entry
    for entry in tx.sites:
        if entry.name == site.name and entry.type == "stageable" and _compatible(entry, site):
            return entry
    for entry in tx.sites:
        if entry.type == "stageable" and _compatible(entry, site):
            return entry
    return None


def candidate_sites(state: PlanState) -> list[str]:
    cats = state.catalogs
    if state.options.sites:
        for name in state.options.sites:
            if not cats.has_site(name):
                raise fail("--sites", f"site {name!r} is not in the site catalog")
        return list(state.options.sites)
    names = [n for n in cats.catalog_site_names() if n != "local"]
    return names or ["condorpool"]


def select(state: PlanState, base_profiles: dict[str, dict[str, str]]) -> None:
    cats = state.catalogs
    candidates = candidate_sites(state)
    selector = state.prop("pegasus.selector.site", "Random").lower()
    if selector not in SELECTORS:
        raise fail(
            "pegasus.selector.site",
            f"unsupported site selector {selector!r} (use Random, RoundRobin or Group)",
        )
    rr_counts: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(candidates, 0))
    groups: dict[str, str] = {}
    tx_cache: dict[tuple[str | None, str, str | None], Transformation | None] = {}
    eligible_cache: dict[tuple[int, str], list[tuple[str, TransformationSite]]] = {}

    # Jobs without profiles of their own share one merged profile set per (site, TC entry):
    # fewer dicts for big workflows, and code generation can cache what it derives from them.
    shared: dict[tuple[str, int, int], dict[str, dict[str, str]]] = {}

    for task in state.tasks.values():
        job = task.job
        own = not job.profiles.is_empty()
        profiles: dict[str, dict[str, str]] = {ns: dict(v) for ns, v in base_profiles.items()}
        if own:
            merge_profiles(profiles, job.profiles)
        if not isinstance(job, Job):
            task.site = "local"
            task.profiles = profiles
            _data_config(state, task)
            continue
        key = (job.namespace, job.name, job.version)
        if key not in tx_cache:
            tx_cache[key] = cats.transformation(*key)
        tx = tx_cache[key]
        if tx is None:
            raise fail(
                f"jobs[{job.id}]",
                f"transformation {job.transformation_key!r} is not in the transformation catalog",
            )
        pinned = job.profiles.selector_value("execution.site")
        pool = [pinned] if pinned else candidates
        ekey = (id(tx), pinned or "")
        eligible = eligible_cache.get(ekey)
        if eligible is None:
            eligible = []
            for name in pool:
                if not cats.has_site(name):
                    raise fail(
                        f"jobs[{job.id}]",
                        f"profile selector.execution.site names unknown site {name!r}",
                    )
                entry = _entry_for(tx, cats.site(name))
                if entry is not None:
                    eligible.append((name, entry))
            eligible_cache[ekey] = eligible
        if not eligible:
            raise fail(
                f"jobs[{job.id}]",
                f"transformation {tx.key!r} cannot run on any of the sites "
                f"{', '.join(pool)} (the transformation catalog has no installed entry there "
                f"and no compatible stageable entry); {_remedy(state, tx, pool, pinned)}",
            )
        if len(eligible) == 1:
            site, entry = eligible[0]
        elif selector == "roundrobin":
            counts = rr_counts[task.level]
            site, entry = min(eligible, key=lambda e: counts.get(e[0], 0))
            counts[site] = counts.get(site, 0) + 1
        elif selector == "group" and "group" in profiles.get("pegasus", {}):
            group = profiles["pegasus"]["group"]
            if group not in groups:
                groups[group] = state.rng.choice(eligible)[0]
            site = groups[group]
            entry = next(e for s, e in eligible if s == site)
        else:
            site, entry = state.rng.choice(eligible)
        task.site = site
        task.transformation = tx
        task.tx_site = entry
        if entry.container:
            cont = cats.container(entry.container)
            if cont is None:
                raise fail(
                    f"transformations[{tx.key}].sites[{entry.name}].container",
                    f"container {entry.container!r} is not in the transformation catalog",
                )
            task.container = cont
        skey = (site, id(tx), id(entry))
        cached = None if own else shared.get(skey)
        if cached is None:
            merge_profiles(profiles, cats.site(site).profiles)
            merge_profiles(profiles, tx.profiles)
            merge_profiles(profiles, entry.profiles)
            if task.container is not None:
                merge_profiles(profiles, task.container.profiles)
            if not own:
                shared[skey] = profiles
        else:
            profiles = cached
        task.profiles = profiles
        _data_config(state, task)


def _remedy(state: PlanState, tx: Transformation, pool: list[str], pinned: str | None) -> str:
    """What to change so the job can run: the sites that do have the transformation, and the
    option (or profile) that selects them. Pegasus only says the job cannot be mapped."""
    cats = state.catalogs
    names = dict.fromkeys([*(entry.name for entry in tx.sites), *cats.site_names()])
    where = [
        name
        for name in names
        if name not in pool and cats.has_site(name) and _entry_for(tx, cats.site(name))
    ]
    if not where:
        return (
            "no site in the site catalog can run it: add an installed entry for one of your "
            "sites (or a stageable one) to the transformation catalog"
        )
    installed = {e.name for e in tx.sites if e.type == "installed"}
    how = "installed" if set(where) <= installed else "available"
    found, listed = f"it is {how} on: {', '.join(where)}", ",".join(where)
    if pinned:
        return f"{found}; change the job's profile selector.execution.site ({pinned!r})"
    if state.options.sites:
        return f"{found}; add {listed} to --sites (--sites {','.join([*pool, *where])})"
    return f"{found}; add --sites {listed}"


def _data_config(state: PlanState, task: Task) -> None:
    site_dc = state.catalogs.site(task.site).profiles.pegasus.get("data.configuration")
    dc = (site_dc or state.prop("pegasus.data.configuration", "condorio")).lower()
    if dc not in DATA_CONFIGS:
        raise fail(
            "pegasus.data.configuration",
            f"unknown data configuration {dc!r} (use condorio, nonsharedfs or sharedfs)",
        )
    task.data_config = dc
    wanted = state.options.staging_sites.get(task.site) or state.options.staging_sites.get("*")
    if dc == "condorio":
        if wanted and wanted != "local":
            raise fail(
                "--staging-site", f"in condorio the staging site is always local, not {wanted!r}"
            )
        task.staging_site = "local"
    elif dc == "sharedfs":
        if wanted and wanted != task.site:
            raise fail(
                "--staging-site",
                f"in sharedfs the staging site is the execution site {task.site!r}, not {wanted!r}",
            )
        task.staging_site = task.site
    else:
        task.staging_site = wanted or task.site
    if not task.is_compute:
        task.staging_site = "local"
    scratch_area(state, task.staging_site)


def scratch_area(state: PlanState, site_name: str) -> StagingArea:
    """The workflow's directory on a staging site: ``<sharedScratch>/<relative dir>``."""
    area = state.scratch.get(site_name)
    if area is not None:
        return area
    if not state.catalogs.has_site(site_name):
        raise fail("--staging-site", f"site {site_name!r} is not in the site catalog")
    site = state.catalogs.site(site_name)
    directory = site.directory("sharedScratch")
    if directory is None:
        raise fail(
            f"sites[{site_name}].directories",
            f"site {site_name!r} has no sharedScratch directory, which it needs as a staging site",
        )
    rel = state.options.relative_dir or state.options.submit_dir.name
    base_path = (directory.path or "").rstrip("/")
    get_url = file_server(directory, "get").url.rstrip("/")
    put_url = file_server(directory, "put").url.rstrip("/")
    area = StagingArea(
        site=site_name,
        path=f"{base_path}/{rel}",
        get_url=f"{get_url}/{rel}",
        put_url=f"{put_url}/{rel}",
    )
    state.scratch[site_name] = area
    return area


def storage_area(state: PlanState, site_name: str) -> StagingArea:
    """Where outputs land on an output site: its localStorage or sharedStorage (Flat mapper)."""
    area = state.storage.get(site_name)
    if area is not None:
        return area
    if not state.catalogs.has_site(site_name):
        raise fail("--output-sites", f"site {site_name!r} is not in the site catalog")
    site = state.catalogs.site(site_name)
    directory = site.directory("localStorage") or site.directory("sharedStorage")
    if directory is None:
        raise fail(
            f"sites[{site_name}].directories",
            f"output site {site_name!r} has no localStorage or sharedStorage directory",
        )
    area = StagingArea(
        site=site_name,
        path=(directory.path or "").rstrip("/"),
        get_url=file_server(directory, "get").url.rstrip("/"),
        put_url=file_server(directory, "put").url.rstrip("/"),
    )
    state.storage[site_name] = area
    return area
