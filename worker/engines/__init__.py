"""Engines run planned submit directories: `local` (built in) and `htcondor` (DAGMan).

`get_engine(name)` is the registry; engines are imported lazily so that the worker never
loads the HTCondor daemon bindings unless a run asks for them.
"""

from __future__ import annotations

from typing import Any

from worker.engines.base import Engine, EngineError, EngineHandle, EngineStatus, RunState

__all__ = ["Engine", "EngineError", "EngineHandle", "EngineStatus", "RunState", "get_engine"]

ENGINES = ("local", "htcondor")


def get_engine(name: str, **options: Any) -> Engine:
    """An engine by name; `options` go to its constructor (e.g. `config=` for local)."""
    if name == "local":
        from worker.engines.local.engine import LocalEngine

        return LocalEngine(**options)
    if name == "htcondor":
        from worker.engines.htcondor import HTCondorEngine

        return HTCondorEngine(**options)
    raise EngineError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")
