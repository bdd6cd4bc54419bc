"""pegasus.properties: Java syntax, layering precedence, pegasus.mode, profiles from properties."""

from __future__ import annotations

from pathlib import Path

import pytest

from planner.errors import SpecError
from planner.properties import (
    Properties,
    load_properties,
    merge_profiles,
    parse_properties,
    properties_from_environ,
)
from planner.spec import Profiles


def test_java_properties_syntax() -> None:
    text = (
        "# comment\n"
        "! also a comment\n"
        "   \n"
        "pegasus.data.configuration = nonsharedfs\n"
        "dagman.retry:3\n"
        "env.GREETING hello world\n"
        "long.value = one, \\\n"
        "             two, \\\n"
        "             three\n"
        "key\\ with\\ spaces = caf\\u00e9\\tend\n"
        "ends.with.backslash = C:\\\\\n"
        "empty =\n"
        "dup = first\n"
        "dup = second\n"
    )
    assert parse_properties(text) == {
        "pegasus.data.configuration": "nonsharedfs",
        "dagman.retry": "3",
        "env.GREETING": "hello world",
        "long.value": "one, two, three",
        "key with spaces": "café\tend",
        "ends.with.backslash": "C:\\",
        "empty": "",
        "dup": "second",
    }


def test_malformed_lines_are_reported_with_their_lines() -> None:
    with pytest.raises(SpecError) as exc:
        parse_properties("ok = 1\nbad = \\u12\n= novalue\n", file="pegasus.properties")
    assert [str(p) for p in exc.value.problems] == [
        "pegasus.properties:2: malformed \\uXXXX escape: \\u12",
        "pegasus.properties:3: a property line needs a key",
    ]


def test_layers_later_win_and_mode_defaults_stay_below_everything() -> None:
    site = {"pegasus.mode": "development", "dagman.retry": "5", "condor.request_memory": "1"}
    user = {"condor.request_memory": "2048"}
    props = Properties.layered(site, user)
    assert props.get("condor.request_memory") == "2048"  # user over site
    assert props.get("dagman.retry") == "5"  # explicit over the mode's 0
    assert props.get("pegasus.integrity.checking") == "none"  # from development mode
    assert props.mode == "development" and props.hold_timeout_seconds == 30
    assert "pegasus.integrity.checking" not in props.explicit


@pytest.mark.parametrize(
    ("mode", "retry", "integrity", "transfer", "hold"),
    [
        ("production", None, None, None, 1800),
        ("development", "0", "none", None, 30),
        ("debug", "0", "none", "--debug -m 1", 30),
        ("tutorial", "1", None, "-m 1", 30),
    ],
)
def test_modes(
    mode: str, retry: str | None, integrity: str | None, transfer: str | None, hold: int
) -> None:
    p = Properties.layered({"pegasus.mode": mode})
    assert p.get("dagman.retry") == retry
    assert p.get("pegasus.integrity.checking") == integrity
    assert p.get("pegasus.transfer.arguments") == transfer
    assert p.hold_timeout_seconds == hold


def test_unknown_mode_is_an_error() -> None:
    with pytest.raises(SpecError) as exc:
        Properties.layered({"pegasus.mode": "turbo"}, file="p.properties")
    assert [str(x) for x in exc.value.problems] == [
        "p.properties: pegasus.mode: 'turbo' is not one of production, development, debug, tutorial"
    ]


def test_typed_getters_and_defaults() -> None:
    p = Properties.layered({"a.flag": "True", "a.n": " 7 ", "a.bad": "x"})
    assert p.get_bool("a.flag") is True and p.get_bool("missing", True) is True
    assert p.get_int("a.n", 0) == 7 and p.get_int("missing", 3) == 3
    with pytest.raises(SpecError):
        p.get_int("a.bad", 0)
    assert Properties().data_configuration == "condorio"
    assert Properties().infer_data_dependencies is True
    off = Properties.layered({"pegasus.parser.dax.data.dependencies": "false"})
    assert off.infer_data_dependencies is False


def test_profiles_from_properties() -> None:
    p = Properties.layered(
        {
            "condor.request_memory": "2048",
            "env.PATH": "/bin",
            "dagman.retry": "3",
            "dagman.stagein.maxjobs": "4",
            "pegasus.clusters.size": "5",
            "pegasus.data.configuration": "sharedfs",
            "pegasus.catalog.replica.file": "rc.yml",  # a property, not a profile
            "selector.execution.site": "cluster",
            "pegasus.catalog.site.sites.cluster.profiles.env.HOME": "/home/u",
        }
    )
    prof = p.profiles()
    assert prof.condor == {"request_memory": "2048"}
    assert prof.env == {"PATH": "/bin"}
    assert prof.dagman == {"RETRY": "3", "STAGEIN.MAXJOBS": "4"}
    assert prof.pegasus == {"clusters.size": "5", "data.configuration": "sharedfs"}
    assert prof.selector == {"execution.site": "cluster"}
    assert p.site_profiles("cluster").env == {"HOME": "/home/u"}
    assert p.site_profiles("other").is_empty()


def test_merge_profiles_later_layers_win() -> None:
    props = Profiles(env={"A": "props", "B": "props"}, condor={"x": "1"})
    job = Profiles(env={"A": "job"})
    tc = Profiles(env={"B": "tc"}, dagman={"RETRY": "2"})
    merged = merge_profiles(props, job, tc)
    assert merged.env == {"A": "job", "B": "tc"}
    assert merged.condor == {"x": "1"} and merged.dagman == {"RETRY": "2"}


def test_environment_layer() -> None:
    env = {"_PEGASUS__CATALOG__REPLICA__FILE": "/rc.yml", "PATH": "/bin"}
    assert properties_from_environ(env) == {"pegasus.catalog.replica.file": "/rc.yml"}


def test_load_example_properties(examples_dir: Path) -> None:
    p = Properties.load(examples_dir / "diamond-catalogs" / "pegasus.properties", {"x": "1"})
    assert p.data_configuration == "condorio" and p.get("dagman.retry") == "1"
    assert p.get("x") == "1"
    with pytest.raises(SpecError, match="file not found"):
        load_properties(examples_dir / "nope.properties")
