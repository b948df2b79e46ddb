"""The check the make-variable error tests share (test_regress_report, test_soak, test_waves_render):
a bad value is one line on stderr, exit 2, naming the make variable under --make and the option when
the script runs directly (verif/tools/makecli.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import pytest


def check_make_error(run: Callable[[list[str]], object], argv: Sequence[str], via_make: str, direct: str, *,
                     target: str, script: str, variables: Mapping[str, str], capsys: pytest.CaptureFixture,
                     option_shown: str | None = None) -> None:
    """``run(extra)`` runs the script with the bad ``argv`` and ``extra`` (["--make"] or []); its
    stderr must start with `make <target>: error: <via_make>` resp. `<script>: error: <direct>`, be
    one line, and the exit status 2 (SystemExit or returned). Under --make the option
    (``option_shown``, default argv[0]) must not appear; run directly, the make variable must not."""
    for extra, prefix, expected in ((["--make"], f"make {target}: error: ", via_make),
                                    ([], f"{script}: error: ", direct)):
        try:
            rc = run(extra)
        except SystemExit as exc:
            rc = exc.code
        err = capsys.readouterr().err
        assert rc == 2 and err.startswith(prefix + expected) and err.count("\n") == 1, err
        assert ((option_shown or argv[0]) if extra else variables[argv[0]] + "=") not in err
