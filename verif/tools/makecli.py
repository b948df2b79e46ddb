"""One-line command-line errors for the scripts `make` runs (run_layer.py for `make run`, regress.py for
`make regress`, soak.py for `make soak`, eie_tools.py waves for `make waves`): with --make on the
command line a bad value is named as the make variable the user typed (`make run: error: PES=1000:
must be in 1..256`), run directly as the option (`run_layer.py: error: --pes 1000: ...`). No usage
block, exit status 2."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping, Sequence
from typing import NoReturn


def given_value(argv: Sequence[str], option: str) -> str:
    """The value `argv` gives `option` (its last occurrence, `--opt v` or `--opt=v`), "" if none."""
    value = ""
    for i, arg in enumerate(argv):
        if arg == option and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith(option + "="):
            value = arg[len(option) + 1:]
    return value


def one_line(option: str, value: object, what: str, *, script: str, target: str,
             variables: Mapping[str, str], via_make: bool) -> str:
    """The error line for `option` (an option string, or a positional's dest such as "layers") set to
    `value` (a list is joined by spaces): `make <target>: error: VAR=value: what` when `via_make` and
    `variables` maps the option to a make variable, else `<make target or script>: error: --option
    value: what` (a positional shows its value alone). A value that is empty or holds a space is
    quoted."""
    text = " ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
    shown = f'"{text}"' if not text or " " in text else text
    prog = f"make {target}" if via_make else script
    if via_make and option in variables:
        return f"{prog}: error: {variables[option]}={shown}: {what}"
    return f"{prog}: error: {shown if not option.startswith('-') else f'{option} {shown}'}: {what}"


class MakeParser(argparse.ArgumentParser):
    """argparse whose errors are one_line() (naming the make variable under --make), exit 2; --help
    as usual. `variables`: option -> make variable; `argv`: the command line (default sys.argv[1:])."""

    def __init__(self, *, script: str, target: str, variables: Mapping[str, str],
                 argv: Sequence[str] | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.script, self.target, self.variables = script, target, dict(variables)
        self.argv = list(sys.argv[1:] if argv is None else argv)
        self.via_make = "--make" in self.argv

    @property
    def prog_name(self) -> str:
        """What the user ran: `make <target>` under --make, else the script."""
        return f"make {self.target}" if self.via_make else self.script

    def line(self, option: str, value: object, what: str) -> str:
        return one_line(option, value, what, script=self.script, target=self.target,
                        variables=self.variables, via_make=self.via_make)

    def fail(self, option: str, value: object, what: str) -> NoReturn:
        """Print the one-line error for `option` = `value` and exit 2."""
        print(self.line(option, value, what), file=sys.stderr)
        raise SystemExit(2)

    def error(self, message: str) -> NoReturn:
        match = re.fullmatch(r"argument ([^:/ ]+)[^:]*: (.*)", message, re.S)
        if match is None:                       # e.g. unrecognized arguments
            print(f"{self.prog_name}: error: {message}", file=sys.stderr)
            raise SystemExit(2)
        option, what = match.groups()
        if re.fullmatch(r"expected (one|at least one) argument", what):   # e.g. `make waves SEED=`: empty
            self.fail(option, "", "needs a value")
        choice = re.fullmatch(r"invalid choice: .*? \(choose from (.*)\)", what)
        if choice:
            what = "must be " + " or ".join(c.strip(" '") for c in choice.group(1).split(","))
        what = re.sub(r"invalid int value: .*", "must be a whole number", what)
        what = re.sub(r"invalid float value: .*", "must be a number", what)
        self.fail(option, given_value(self.argv, option), what)
