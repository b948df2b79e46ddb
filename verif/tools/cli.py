"""The one command line of the verification tools (scripts/eie_tools.py): a subcommand per tool,
each a module of verif/tools with add_arguments(parser) and run(args, parser) -> exit status.

    scripts/eie_tools.py waves --test RandomNetworkTest --seed 3 --sim icarus     # make waves
    scripts/eie_tools.py gtkw                                                     # regenerate verif/waves/*
    scripts/eie_tools.py coverage --results build/coverage/regress/results.xml    # make coverage
    scripts/eie_tools.py testplan                                                 # make testplan

`scripts/eie_tools.py <subcommand> --help` lists each one's options. A bad value is one line, exit 2
(verif/tools/makecli.py); with --make (the Makefile's recipe, e.g. `make waves`) it names the make
variable (TEST=, SEED=, ...) instead of the option: a tool module's MAKE_VARIABLES maps them.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from verif.tools import coverage, testplan, waves
from verif.tools.makecli import MakeParser


def _doc(module: object) -> tuple[str, str]:
    """(first paragraph, the rest) of a module docstring, for a subcommand's help."""
    parts = (getattr(module, "__doc__", "") or "").split("\n\n")
    return parts[0], "\n\n".join(parts[1:])


def parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The command line; `argv` (default sys.argv[1:]) is what the subcommands' errors quote."""
    ap = argparse.ArgumentParser(prog="scripts/eie_tools.py", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    sub = ap.add_subparsers(dest="command", required=True, metavar="{waves,gtkw,coverage,testplan}",
                            parser_class=MakeParser)
    tools = [
        ("waves", waves, waves.add_arguments, waves.run,
         "rerun a test with FST waves and draw a window of them as a PNG (make waves)"),
        ("gtkw", None, waves.add_gtkw_arguments, waves.run_gtkw,
         "regenerate verif/waves/eie_top_<sim>.gtkw and the state filters from a reference FST"),
        ("coverage", coverage, coverage.add_arguments, coverage.run,
         "code + functional coverage report of a regression (make coverage)"),
        ("testplan", testplan, testplan.add_arguments, testplan.run,
         "verif/testplan.yaml annotated with the last results and bins (make testplan)"),
    ]
    for name, module, add, run, short in tools:
        desc, epilog = _doc(module) if module else (short, "")
        p = sub.add_parser(name, help=short, description=desc, epilog=epilog,
                           formatter_class=argparse.RawDescriptionHelpFormatter,
                           script=f"eie_tools.py {name}", target=name,
                           variables=getattr(module, "MAKE_VARIABLES", {}), argv=argv)
        add(p)
        p.set_defaults(run=run, subparser=p)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv` (default sys.argv[1:]) and run the subcommand; its exit status."""
    os.environ.setdefault("MPLBACKEND", "Agg")   # headless PNGs
    args = parser(argv).parse_args(argv)
    return args.run(args, args.subparser)
