"""Pegasus properties: `pegasus.properties` parsing, layering by precedence, and `pegasus.mode`.

Files use Java `.properties` syntax (`key = value`, `key: value` or `key value`; `#`/`!`
comments; a trailing backslash continues a line; `\\t`, `\\n`, `\\uXXXX` escapes), which is what
Pegasus reads. Layers are applied in increasing priority, as pegasus-plan does (SPEC.md §2.14):

1. `pegasus.mode` defaults (below everything the user wrote),
2. site-wide properties (the gateway's own configuration),
3. the user's properties file (`--conf` / uploaded `pegasus.properties`),
4. environment-style overrides (`_PEGASUS__CATALOG__REPLICA__FILE=…`, `properties_from_environ`),
5. `-D key=value` overrides.

`Properties.layered(*layers)` takes them lowest first; later layers win key by key. The mode is
read from the merged layers, and its defaults apply only to keys that no layer sets:

| mode | defaults |
|---|---|
| production | none (RETRY 1, integrity `full`, held jobs removed after 1800 s) |
| development | `dagman.retry=0`, `pegasus.integrity.checking=none`, held jobs removed after 30 s |
| debug | as development, plus `pegasus.transfer.arguments=--debug -m 1` |
| tutorial | `dagman.retry=1`, `pegasus.transfer.arguments=-m 1`, held jobs removed after 30 s |

Profiles in properties (`condor.request_memory`, `env.PATH`, `dagman.retry`, …) have the lowest
precedence of all profile sources; `merge_profiles` applies Pegasus's order (SPEC.md §1.7):
properties < workflow < job < site catalog < transformation < transformation site entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from planner.errors import Problem, SpecError
from planner.spec import PROFILE_NAMESPACES, Profiles

__all__ = [
    "MODES",
    "PEGASUS_PROFILE_KEYS",
    "Properties",
    "load_properties",
    "merge_profiles",
    "parse_properties",
    "properties_from_environ",
]

Mode = Literal["production", "development", "debug", "tutorial"]

MODES: dict[str, dict[str, str]] = {
    "production": {},
    "development": {"dagman.retry": "0", "pegasus.integrity.checking": "none"},
    "debug": {
        "dagman.retry": "0",
        "pegasus.integrity.checking": "none",
        "pegasus.transfer.arguments": "--debug -m 1",
    },
    "tutorial": {"dagman.retry": "1", "pegasus.transfer.arguments": "-m 1"},
}
"""Property defaults each `pegasus.mode` brings (applied under everything the user set)."""

_HOLD_TIMEOUT = {"production": 1800, "development": 30, "debug": 30, "tutorial": 30}

PEGASUS_PROFILE_KEYS = frozenset(
    """clusters.num clusters.size clusters.maxruntime job.aggregator job.aggregator.arguments
    label group gridstart gridstart.path gridstart.arguments gridstart.launcher
    gridstart.launcher.arguments stagein.clusters stagein.local.clusters stagein.remote.clusters
    stageout.clusters stageout.local.clusters stageout.remote.clusters transfer.proxy
    transfer.arguments transfer.threads transfer.lite.arguments nosymlink change.dir create.dir
    relative.submit.dir style auxillary.local condor.arguments.quote glite.arguments runtime
    cores gpus nodes ppn memory diskspace queue project data.configuration exitcode.failuremsg
    exitcode.successmsg checkpoint.time maxwalltime pmc_request_memory pmc_request_cpus
    pmc_priority pmc_task_arguments container.arguments container.launcher
    container.launcher.arguments pegasus_lite_env_source enable_for_data_reuse tag type""".split()
)
"""Pegasus-namespace profile keys; `pegasus.<key>` in properties sets them (SPEC.md §1.7)."""


# --------------------------------------------------------------------------- parsing

_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def _unescape(s: str, file: str, line: int, problems: list[Problem]) -> str:
    if "\\" not in s:
        return s
    out: list[str] = []
    i = 0
    while i < len(s):
        ch = s[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        i += 1
        if i >= len(s):
            break
        nxt = s[i]
        if nxt == "u":
            digits = s[i + 1 : i + 5]
            if len(digits) == 4 and all(c in "0123456789abcdefABCDEF" for c in digits):
                out.append(chr(int(digits, 16)))
                i += 5
                continue
            problems.append(
                Problem(file, line, "", f"malformed \\uXXXX escape: \\u{digits}", "syntax")
            )
            i += 1
            continue
        out.append(_ESCAPES.get(nxt, nxt))
        i += 1
    return "".join(out)


def _logical_lines(text: str) -> Iterable[tuple[int, str]]:
    """Join continuation lines (odd number of trailing backslashes), keep the first line number."""
    buf: list[str] = []
    start = 0
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.lstrip(" \t\f") if buf else raw
        if not buf:
            stripped = line.lstrip(" \t\f")
            if not stripped or stripped[0] in "#!":
                continue
            line = stripped
            start = n
        trailing = len(line) - len(line.rstrip("\\"))
        if trailing % 2 == 1:
            buf.append(line[:-1])
            continue
        buf.append(line)
        yield start, "".join(buf)
        buf = []
    if buf:
        yield start, "".join(buf)


def parse_properties(text: str, *, file: str = "<string>") -> dict[str, str]:
    """Parse Java-properties text into key → value (later duplicates win, as in Java).

    Raises `SpecError` listing every malformed line.
    """
    problems: list[Problem] = []
    out: dict[str, str] = {}
    for n, line in _logical_lines(text):
        # the key ends at the first unescaped '=', ':' or whitespace
        i = 0
        while i < len(line):
            ch = line[i]
            if ch == "\\":
                i += 2
                continue
            if ch in "=: \t\f":
                break
            i += 1
        key_raw = line[:i]
        rest = line[i:].lstrip(" \t\f")
        if rest[:1] in ("=", ":"):
            rest = rest[1:].lstrip(" \t\f")
        key = _unescape(key_raw, file, n, problems)
        if not key:
            problems.append(Problem(file, n, "", "a property line needs a key", "syntax"))
            continue
        out[key] = _unescape(rest, file, n, problems)
    if problems:
        raise SpecError(problems)
    return out


def load_properties(path: str | Path) -> dict[str, str]:
    """Read a `pegasus.properties` file (see `parse_properties`)."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError([Problem(file, None, "", "file not found", "io")]) from None
    except UnicodeDecodeError:
        # Java reads .properties as ISO-8859-1 by default
        text = Path(path).read_text(encoding="latin-1")
    return parse_properties(text, file=file)


def properties_from_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """`_PEGASUS__CATALOG__REPLICA__FILE=x` → `pegasus.catalog.replica.file=x` (SPEC.md §2.14)."""
    out: dict[str, str] = {}
    for name, value in environ.items():
        if name.startswith("_PEGASUS__"):
            key = name[1:].lower().replace("__", ".")
            out[key] = value
    return out


# --------------------------------------------------------------------------- the merged view


@dataclass(frozen=True)
class Properties:
    """The effective properties of one planning run (explicit layers over mode defaults)."""

    explicit: Mapping[str, str] = field(default_factory=dict)
    """What the layers set, merged (later layers won)."""
    values: Mapping[str, str] = field(default_factory=dict)
    """`explicit` over the defaults of `mode`: what planning should read."""

    @classmethod
    def layered(cls, *layers: Mapping[str, str], file: str | None = None) -> Properties:
        """Merge layers given lowest priority first; validate `pegasus.mode`."""
        explicit: dict[str, str] = {}
        for layer in layers:
            explicit.update(layer)
        mode = explicit.get("pegasus.mode", "production").strip().lower()
        if mode not in MODES:
            allowed = ", ".join(MODES)
            raise SpecError(
                [
                    Problem(
                        file,
                        None,
                        "pegasus.mode",
                        f"{mode!r} is not one of {allowed}",
                        "schema",
                    )
                ]
            )
        values = {**MODES[mode], **explicit}
        return cls(explicit, values)

    @classmethod
    def load(cls, path: str | Path, *overrides: Mapping[str, str]) -> Properties:
        """A properties file with optional higher-priority override layers."""
        return cls.layered(load_properties(path), *overrides, file=str(path))

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.values.get(key, default)

    def get_bool(self, key: str, default: bool = False) -> bool:
        value = self.values.get(key)
        if value is None:
            return default
        return value.strip().lower() in ("true", "yes", "1", "on")

    def get_int(self, key: str, default: int) -> int:
        value = self.values.get(key)
        if value is None:
            return default
        try:
            return int(value.strip())
        except ValueError:
            raise SpecError(
                [Problem(None, None, key, f"{value!r} is not an integer", "schema")]
            ) from None

    @property
    def mode(self) -> str:
        return self.values.get("pegasus.mode", "production").strip().lower()

    @property
    def hold_timeout_seconds(self) -> int:
        """How long a held job may stay held before `periodic_remove` removes it."""
        return _HOLD_TIMEOUT.get(self.mode, 1800)

    @property
    def data_configuration(self) -> str:
        return self.values.get("pegasus.data.configuration", "condorio").strip()

    @property
    def infer_data_dependencies(self) -> bool:
        return self.get_bool("pegasus.parser.dax.data.dependencies", True)

    def profiles(self) -> Profiles:
        """Profiles set through properties: `<ns>.<key>` for env/condor/globus/dagman/selector
        (and `hints`), and `pegasus.<key>` for the pegasus profile keys."""
        found: dict[str, dict[str, str]] = {ns: {} for ns in PROFILE_NAMESPACES}
        for key, value in self.values.items():
            ns, _, rest = key.partition(".")
            if not rest:
                continue
            if ns == "pegasus":
                if rest in PEGASUS_PROFILE_KEYS:
                    found["pegasus"][rest] = value
            elif ns in found:
                found[ns][rest.upper() if ns == "dagman" else rest] = value
        return Profiles(**found)

    def site_profiles(self, site: str) -> Profiles:
        """`pegasus.catalog.site.sites.<site>.profiles.<ns>.<key>` entries for one site."""
        prefix = f"pegasus.catalog.site.sites.{site}.profiles."
        found: dict[str, dict[str, str]] = {ns: {} for ns in PROFILE_NAMESPACES}
        for key, value in self.values.items():
            if key.startswith(prefix):
                ns, _, rest = key[len(prefix) :].partition(".")
                if ns in found and rest:
                    found[ns][rest.upper() if ns == "dagman" else rest] = value
        return Profiles(**found)


def merge_profiles(*layers: Profiles) -> Profiles:
    """Merge profile sets given lowest precedence first; later layers win key by key.

    Pegasus's order (SPEC.md §1.7) is properties < workflow-level < job < site catalog <
    transformation < transformation site entry; selector keys set by the job are not
    overridden (pass the job's selector values again last if that matters).
    """
    merged: dict[str, dict[str, str]] = {ns: {} for ns in PROFILE_NAMESPACES}
    for layer in layers:
        for ns in PROFILE_NAMESPACES:
            values: dict[str, str] = getattr(layer, ns)
            if values:
                merged[ns].update(values)
    return Profiles(**merged)
