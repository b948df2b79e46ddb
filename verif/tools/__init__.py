"""Verification tools behind `make waves`, `make coverage` and `make testplan`, one module per concern.
Pure Python (no cocotb); the command line is scripts/eie_tools.py (cli.py: one subcommand per tool).

    common      repository paths, log lines, number formatting
    junit       JUnit results (pytest --junitxml with the eie_* properties)
  waves:
    gtkw        GTKWave save files: trace flags, parser, adjusted copies
    savefiles   the committed verif/waves/*.gtkw and state filters: what they show, their generator
    wavefile    FST/VCD access through pywellen (times in ns), enum tables, design root
    render      value formatting and the PNG renderer (matplotlib)
    waves       `waves`: rerun a test with waves, pick the window, draw it
  coverage:
    codecov     Verilator coverage.dat: parse, merge, per-file line/branch/toggle counts
    waivers     code-coverage waivers (verif/coverage_waivers.yaml)
    lcov        lcov export, verilator_coverage and genhtml
    funccov     functional coverage XML: read, merge by bin name, the model's bins, summary
    coverage    `coverage`: the report of a regression (summary.txt, HTML, functional.xml)
    testplan    `testplan`: verif/testplan.yaml annotated with results and bins
"""
