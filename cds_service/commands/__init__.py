"""Subcommands of ``rrmm-cds``: each module here exposes ``register(subparsers)``.

``register`` adds one parser to the ``argparse`` subparsers and sets ``func`` (a callable taking
the parsed ``argparse.Namespace`` and returning an exit status) with ``parser.set_defaults``.
``cds_service.cli`` discovers the modules, so adding a command is dropping in a module.
"""
