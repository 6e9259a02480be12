"""The ``kkr-geo`` command line.

Each command group lives in :mod:`kkr_geo.commands` and registers itself with ``register(subparsers)``;
command modules import the heavy libraries in their handlers, so parsing (``--help``, ``--version``) is fast.
Results go to stdout; progress, notes and warnings are logged to stderr (:mod:`kkr_geo.log`; ``-v``/``-q``).
Options of the main parser (``--data-dir``, ``--debug``, ``-v``, ``-q``) are accepted after the subcommand too.
User errors (:class:`geo.errors.KkrGeoError`) are printed without a traceback and give a
non-zero exit code; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback

from kkr_geo import __version__

COMMAND_MODULES = ["data", "layers", "analysis", "build"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kkr-geo",
        description="Layers, indicator joins, catchments and annex maps for Region Hovedstaden.",
    )
    parser.add_argument("--version", action="version", version=f"kkr-geo {__version__}")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="data directory over the embedded default data, file by file "
                             "(default: $KKR_GEO_DATA, then the user cache)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more messages on stderr (-v: debug)")
    parser.add_argument("-q", "--quiet", action="count", default=0, help="fewer messages on stderr (only warnings)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"kkr_geo.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"kkr_geo.commands.{name}":
                continue
            raise
        module.register(sub)
    _add_global_options_to_subcommands(parser)
    return parser


def _add_global_options_to_subcommands(parser: argparse.ArgumentParser) -> None:
    """Accept ``--data-dir`` and ``--debug`` after the subcommand too (``kkr-geo build --data-dir X``).

    The subcommands' copies default to SUPPRESS, so an option given before the subcommand is kept
    unless it is given again after it (then the later one wins).
    """
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for subparser in set(action.choices.values()):
            known = {opt for a in subparser._actions for opt in a.option_strings}
            if "--data-dir" not in known:
                subparser.add_argument("--data-dir", metavar="DIR", default=argparse.SUPPRESS,
                                       help="data directory (also accepted before the subcommand)")
            if "--debug" not in known:
                subparser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                                       help="show tracebacks on errors")
            if "--verbose" not in known:
                subparser.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                                       help="more messages on stderr (-v: debug)")
            if "--quiet" not in known:
                subparser.add_argument("-q", "--quiet", action="count", default=argparse.SUPPRESS,
                                       help="fewer messages on stderr (only warnings)")
            _add_global_options_to_subcommands(subparser)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    from kkr_geo import log

    log.setup(verbose=args.verbose, quiet=args.quiet)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    debug = args.debug or os.environ.get("KKR_GEO_DEBUG") == "1"
    # Names from data reach the terminal: control characters and bidi overrides are shown, not obeyed.
    from kkr_geo.geo.safe_text import ConsoleStream
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = ConsoleStream(sys.stdout), ConsoleStream(sys.stderr)
    try:
        return _run(args, debug)
    finally:
        sys.stdout, sys.stderr = saved


def _run(args, debug: bool) -> int:
    from kkr_geo import log
    from kkr_geo.geo.errors import KkrGeoError
    from kkr_geo.geo.notes import library_warnings_as_notes

    def note(msg: str) -> None:  # logged like every other note (stderr; hidden by -q)
        log.get_logger("kkr_geo.notes").info("kkr-geo: note: %s", msg)

    try:
        # library warnings (numpy, pyogrio, GDAL ...) are printed as the tool's notes, never raw
        with library_warnings_as_notes(note):
            return int(args.func(args) or 0)
    except KkrGeoError as exc:
        if debug:
            traceback.print_exc()
        print(f"kkr-geo: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # output piped into `head` and closed early
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except KeyboardInterrupt:
        print("kkr-geo: interrupted; no partial output was kept.", file=sys.stderr)
        return 130
    except MemoryError:
        print("kkr-geo: error: out of memory. Use a coarser cell size or a smaller extent.", file=sys.stderr)
        return 5
    except Exception as exc:  # an unexpected bug: short message, traceback only with --debug
        if debug:
            traceback.print_exc()
        print(f"kkr-geo: internal error: {type(exc).__name__}: {exc}\n"
              "  This is a bug in kkr-geo. Run again with --debug and report the traceback.", file=sys.stderr)
        return 70


if __name__ == "__main__":
    sys.exit(main())
