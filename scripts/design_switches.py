"""The design switches shared by `make run` (run_layer.py) and `make encode|golden|cycles` (eie_model.py):
each turns one feature beyond the paper off, and all four off give the paper's design
(`BALANCE=0 PAD_SKIP=0 DUAL=0 DEAD=0`). One definition, so the two commands cannot drift apart."""

from __future__ import annotations

import argparse

# (option, make variable, help): each option's default is the feature on
SWITCHES = (
    ("--interleave", "BALANCE=0",
     "rows on PE i mod N and inputs in index order as in the paper (default: rows balanced over the PEs where the "
     "cycle model predicts fewer cycles at the FIFO depth, and layer 0's inputs in a balanced order where the RTL's "
     "cycle model does, models/balance.py; an encoded image and its golden.npz then hold the permuted rows and "
     "inputs, with the permutations as row_perm<i> and col_perm: input col_perm[j] is fed as activation j)"),
    ("--no-pad-skip", "PAD_SKIP=0",
     "every layer's FLAGS.PAD_SKIP off: one cycle per entry, padding included, as in the paper (default on: a "
     "padding entry and the next entry of its word go to the arithmetic unit as one, docs/cycle-model.md)"),
    ("--no-dual", "DUAL=0",
     "every layer's FLAGS.DUAL off: one entry per cycle, as the paper's one-MAC PE (default on: two entries of a "
     "column per cycle where their rows differ in parity, on the PE's two MAC lanes, docs/cycle-model.md)"),
    ("--keep-dead-rows", "DEAD=0",
     "run the hidden layers' dead rows too, as the paper (default: rows whose output no weight of the next layer "
     "reads are removed, models/dead.py; exact; row_perm<i> in an encoded golden.npz then lists the rows run)"),
)
# the switches an encoded folder records (its layers' flags), which the tools can override on it
FOLDER_FLAGS = ("--no-pad-skip", "--no-dual")


def add_design_switches(parser: argparse.ArgumentParser, folder_ok: bool = False) -> None:
    """Add the four switches to ``parser`` (store_true options; ``folder_ok``: the command also takes an
    encoded folder, whose recorded flags --no-pad-skip and --no-dual override)."""
    for option, make_var, text in SWITCHES:
        note = "; overrides an encoded folder's flags" if folder_ok and option in FOLDER_FLAGS else ""
        parser.add_argument(option, action="store_true", help=f"{text}{note}; make {make_var}")


def design_kwargs(args: argparse.Namespace) -> dict[str, bool]:
    """models.plan.prepare_run's feature keywords from parsed switches: balance, pad_skip, dual, drop_dead."""
    return {"balance": not args.interleave, "pad_skip": not args.no_pad_skip, "dual": not args.no_dual,
            "drop_dead": not args.keep_dead_rows}
