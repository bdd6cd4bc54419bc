"""``aerie-lite``: the job wrapper's command line (``run``, ``transfer``, ``register``,
``exitcode``, ``integrity``).

Subcommand modules are imported only when chosen, so ``aerie-lite exitcode`` does not pay for the
code of ``run``: the local engine starts one wrapper and one POST per job and aims for 150 jobs/s.
``main(argv)`` keeps no global state, so an engine may call it in a forked child.
"""

from __future__ import annotations

import sys

USAGE = """usage: aerie-lite <command> [args]

commands:
  run <job>.lite.json        run a compute job (stage-in, integrity, exec, stage-out)
  transfer <job>.in          carry out a Pegasus transfer list (stage-in/out, mkdir, remove)
  register [-o RC] <job>.in  append File-RC lines to the workflow's output replica catalog
  exitcode [opts] <job>.out  judge a finished job like pegasus-exitcode (DAG POST script)
  integrity FILE...          verify files against the *.meta files in the current directory
"""


def preload() -> None:
    """Import every subcommand and the standard modules they import lazily.

    For engines that run the wrapper in forked children of a long-lived process: call this once
    in the parent, and each child starts with everything imported (a job then costs a fork and
    its own work, not ~20 ms of imports).
    """
    import encodings.idna  # noqa: F401  (socket.gethostbyname)
    import getopt  # noqa: F401
    import hashlib  # noqa: F401
    import pwd  # noqa: F401
    import resource  # noqa: F401  (os.wait4)
    import shutil  # noqa: F401
    import socket  # noqa: F401
    import subprocess  # noqa: F401
    import threading  # noqa: F401
    import urllib.parse  # noqa: F401

    from . import (  # noqa: F401
        container,
        exitcode,
        integrity,
        invocation,
        jobspec,
        kickstart,
        register,
        run,
        transfer,
    )


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; output is flushed before returning (a forked caller may ``_exit``)."""
    try:
        return _dispatch(list(sys.argv[1:] if argv is None else argv))
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass


def _dispatch(args: list[str]) -> int:
    if not args or args[0] in ("-h", "--help", "help"):
        sys.stdout.write(USAGE)
        return 0 if args else 2
    cmd, rest = args[0], args[1:]
    if cmd == "run":
        from . import run

        return run.main(rest)
    if cmd == "exitcode":
        from . import exitcode

        return exitcode.main(rest)
    if cmd == "transfer":
        from . import transfer

        return transfer.main(rest)
    if cmd == "register":
        from . import register

        return register.main(rest)
    if cmd == "integrity":
        from . import integrity

        return integrity.main(rest)
    sys.stderr.write(f"aerie-lite: unknown command {cmd!r}\n{USAGE}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
