"""The job wrapper, ``aerie-lite``: PegasusLite + kickstart + pegasus-exitcode in one zipapp.

Standard library only, Python >= 3.8 (worker nodes run what their OS ships), so that one file
shipped with every job is all a node needs.  ``worker.workspace.install_wrapper`` builds the
zipapp; ``__main__.main(argv)`` is the entry point (also callable in a forked child).
Formats: ``jobspec.py`` (the ``<job>.lite.json`` input), ``invocation.py`` (the JSON records on
stdout), ``kickstart.py`` (Pegasus's YAML records), ``integrity.py`` (``.meta`` files).
"""
