"""Catalog look-ups: replicas (exact and regex with [n] groups), transformations, sites."""

from __future__ import annotations

from pathlib import Path

from planner_testdata import PEGASUS

from planner.catalogs import Catalogs, Replicas, Sites, Transformations, default_local_site
from planner.loader import (
    load_replica_catalog,
    load_site_catalog,
    loads_replica_catalog,
    loads_transformation_catalog,
)
from planner.spec import Job

RC = """\
pegasus: "5.0"
replicas:
- lfn: f.a
  pfns:
  - {site: local, pfn: /data/f.a}
  - {site: remote, pfn: "gsiftp://host/f.a"}
  checksum: {sha256: abc}
  metadata: {size: 3}
- lfn: 'alpha\\.(csv|txt|xml)'
  regex: true
  pfns: [{site: local, pfn: "file:///data/[1]/[0]"}]
- lfn: '(\\w+)\\.(\\d+)\\.dat'
  regex: true
  pfns: [{site: local, pfn: "/runs/[2]/[1]-[3].dat"}]
- lfn: '.*'
  regex: true
  pfns: [{site: archive, pfn: "s3://bucket/[0]"}]
"""


def test_exact_entries_list_every_pfn_with_checksum() -> None:
    reps = Replicas([loads_replica_catalog(RC)])
    locs = reps.lookup("f.a")
    assert [(x.site, x.pfn, x.sha256, x.regex) for x in locs] == [
        ("local", "/data/f.a", "abc", False),
        ("remote", "gsiftp://host/f.a", "abc", False),
    ]
    assert reps.sha256("f.a") == "abc" and reps.metadata("f.a") == {"size": "3"}


def test_regex_entries_substitute_groups_and_first_match_wins() -> None:
    reps = Replicas([loads_replica_catalog(RC)])
    (x,) = reps.lookup("alpha.csv")
    assert (x.site, x.pfn, x.regex) == ("local", "file:///data/csv/alpha.csv", True)
    (y,) = reps.lookup("run.42.dat")
    # [3] does not exist in that pattern: left as written
    assert y.pfn == "/runs/42/run-[3].dat"
    (z,) = reps.lookup("anything/else")
    assert (z.site, z.pfn) == ("archive", "s3://bucket/anything/else")
    assert "alpha.csv" in reps and "f.a" in reps


def test_regex_must_match_the_whole_name() -> None:
    rc = loads_replica_catalog(
        'pegasus: "5.0"\nreplicas:\n- {lfn: "f\\\\.a", regex: true, pfns: [{site: s, pfn: /x}]}\n'
    )
    reps = Replicas([rc])
    assert reps.lookup("f.a") and not reps.lookup("xf.a") and "f.ab" not in reps


def test_pegasus_sample_rc_exact_wins_over_regex() -> None:
    reps = Replicas([load_replica_catalog(PEGASUS / "catalogs" / "rc.yml")])
    assert [x.regex for x in reps.lookup("f.a")] == [False]
    # the regex entry "f.a" also matches "faa" (the dot is a wildcard)
    assert [x.pfn for x in reps.lookup("faa")] == ["file:///Volumes/data/input/f.a"]


def test_earlier_catalogs_win() -> None:
    inline = loads_replica_catalog("replicas: [{lfn: f, pfns: [{site: a, pfn: /inline}]}]\n")
    files = loads_replica_catalog("replicas: [{lfn: f, pfns: [{site: a, pfn: /file}]}]\n")
    assert Replicas([inline, files]).lookup("f")[0].pfn == "/inline"


TC = """\
pegasus: "5.0"
transformations:
- {namespace: ex, name: keg, version: "1.0", sites: [{name: a, pfn: /k1, type: installed}]}
- {namespace: ex, name: keg, version: "2.0", sites: [{name: a, pfn: /k2, type: installed}]}
- {name: keg, sites: [{name: b, pfn: /k0, type: stageable}]}
- {name: tool, requires: ["ex::keg:2.0"], sites: [{name: a, pfn: /t, type: installed,
   container: c1}]}
containers:
- {name: c1, type: docker, image: "docker:///img:1"}
"""


def test_transformation_lookup_rules() -> None:
    tcs = Transformations([loads_transformation_catalog(TC)])
    assert tcs.lookup("keg", "ex", "2.0").sites[0].pfn == "/k2"  # type: ignore[union-attr]
    # no namespace/version asked: the entry that matches best (fewest extra parts) wins
    assert tcs.lookup("keg").sites[0].pfn == "/k0"  # type: ignore[union-attr]
    assert tcs.lookup("keg", "ex").version == "1.0"  # type: ignore[union-attr]
    assert tcs.lookup("keg", "other") is None and tcs.lookup("nothing") is None
    assert tcs.lookup_requirement("ex::keg:2.0") is tcs.lookup("keg", "ex", "2.0")
    assert tcs.lookup_requirement("keg") is tcs.lookup("keg")
    job = Job(id="j", name="tool", arguments=(), uses=())
    tool = tcs.for_job(job)
    assert tool is not None and tool.key == "tool"
    c = tcs.container(tool.sites[0].container or "")
    assert c is not None and c.image == "docker:///img:1"
    assert len(tcs) == 4 and [t.key for t in tcs][:2] == ["ex::keg:1.0", "ex::keg:2.0"]


def test_sites_and_automatic_ones() -> None:
    sites = Sites([load_site_catalog(PEGASUS / "catalogs" / "sc.yml")])
    assert sites.declared() == ["local", "condor_pool", "staging_site"]
    assert "condorpool" in sites and "local" in sites and "mars" not in sites
    pool = sites.get("condorpool")
    assert pool is not None and pool.profiles.pegasus == {"style": "condor"}
    local = sites.get("local")
    assert local is not None and local.profiles.env["PATH"] == "/usr/bin:/bin"
    staging = sites.get("staging_site")
    assert staging is not None
    scratch = staging.directory("sharedScratch")
    assert scratch is not None
    assert [(fs.operation, fs.url) for fs in scratch.file_servers] == [
        ("put", "scp://obelix.isi.edu/data"),
        ("get", "http://obelix.isi.edu/data"),
    ]
    assert sites.names()[-1] == "condorpool"


def test_default_local_site_follows_the_submit_dir(tmp_path: Path) -> None:
    site = default_local_site(tmp_path / "runs" / "run0001")
    scratch, storage = site.directories
    assert scratch.type == "sharedScratch" and scratch.path == str(
        tmp_path / "runs/wf-scratch/LOCAL"
    )
    assert storage.file_servers[0].url == f"file://{tmp_path / 'runs/wf-output'}"


def test_catalogs_of_empty() -> None:
    c = Catalogs.of()
    assert c.replicas.lookup("x") == [] and c.transformations.lookup("t") is None
    assert c.sites.names() == ["local", "condorpool"]
