#!/usr/bin/env python3
"""The verification tools' one command line: waves, gtkw, coverage, testplan (verif/tools/cli.py).

    scripts/eie_tools.py --help
    scripts/eie_tools.py waves --test RandomNetworkTest --seed 3 --sim icarus
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root (models/, verif/), as every script

from verif.tools.cli import main

if __name__ == "__main__":
    sys.exit(main())
