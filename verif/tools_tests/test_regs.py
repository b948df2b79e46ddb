"""Tests of the register description and its generated files (scripts/gen_regs.py), no simulator.

- the committed outputs equal a fresh generation (a hand edit or a stale file fails: run `make regs`);
- moving one register in a copy of hdl/eie_regs.rdl moves it in the SV package, the Python
  constants, the pyuvm register model, the docs table and the C header together (and eie_ccu still
  compiles against the moved package);
- the C header compiles and its macros and struct agree with the Python constants;
- the generator refuses a description it cannot export, with a clear message.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

import gen_regs  # noqa: E402

from verif import regmap  # noqa: E402

NEW_OFFSET = 0x040   # a free word between PTR_DEPTH (0x03C) and LAYER_CYCLES (0x080)


def _load_module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cc() -> str:
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.fail("no C compiler (gcc) on PATH: install gcc (scripts/debian-packages.txt)")
    return cc


def _c_syntax_check(tmp_path: Path, include_dir: Path, body: str) -> None:
    src = tmp_path / "use_regs.c"
    src.write_text(f'#include <stddef.h>\n#include "eie_regs.h"\n{body}\n')
    res = subprocess.run([_cc(), "-std=c11", "-Wall", "-Werror", "-fsyntax-only", f"-I{include_dir}", str(src)],
                         capture_output=True, text=True)
    assert res.returncode == 0, f"C check failed:\n{src.read_text()}\n{res.stderr}"


def test_generated_files_are_up_to_date() -> None:
    stale = gen_regs.check()
    assert not stale, ("generated register files differ from hdl/eie_regs.rdl: "
                       f"{', '.join(map(str, stale))}; run `make regs` (never edit them by hand)")


def test_generated_files_carry_the_header() -> None:
    for rel in gen_regs.OUTPUTS.values():
        head = (REPO / rel).read_text().splitlines()[0]
        assert gen_regs.HEADER in head, f"{rel}: first line {head!r} lacks the 'do not edit' header"


def test_moving_a_register_moves_it_everywhere(tmp_path: Path) -> None:
    src = gen_regs.RDL.read_text()
    old = "} BCAST_COUNT @ 0x030;"
    assert src.count(old) == 1, "test expects BCAST_COUNT at 0x030 in hdl/eie_regs.rdl"
    rdl = tmp_path / "eie_regs.rdl"
    rdl.write_text(src.replace(old, f"}} BCAST_COUNT @ 0x{NEW_OFFSET:03X};"))
    out = tmp_path / "out"
    gen_regs.generate(out, rdl)

    sv = (out / gen_regs.OUTPUTS["sv"]).read_text()
    assert re.search(rf"localparam int RegBcastCount\s*= 'h{NEW_OFFSET:03X};", sv), "SV package"

    py = _load_module(out / gen_regs.OUTPUTS["py"], "moved_regmap")
    assert py.REG_BCAST_COUNT == NEW_OFFSET, "Python constants"
    assert py.REG_CYCLES == regmap.REG_CYCLES, "only BCAST_COUNT moves"

    ral = _load_module(out / gen_regs.OUTPUTS["ral"], "moved_eie_ral")
    block = ral.eie_regs("regs")
    block.build()
    block.lock_model()
    assert block.BCAST_COUNT.get_address() == NEW_OFFSET, "pyuvm register model"
    assert block.get_default_map().get_reg_by_offset(NEW_OFFSET) is block.BCAST_COUNT

    md = (out / gen_regs.OUTPUTS["md"]).read_text()
    assert f"| 0x{NEW_OFFSET:03X} | BCAST_COUNT |" in md, "docs table"
    assert "| 0x030 | BCAST_COUNT |" not in md

    _c_syntax_check(tmp_path, (out / gen_regs.OUTPUTS["c"]).parent,
                    f'_Static_assert(offsetof(eie_regs_t, BCAST_COUNT) == 0x{NEW_OFFSET:X}, "moved");')

    # the RTL takes the moved package as it is (the simulator bench checks the answers)
    iverilog = shutil.which("iverilog")
    if iverilog is None:
        pytest.fail("iverilog not on PATH")
    res = subprocess.run([iverilog, "-g2012", "-Wall", "-s", "eie_ccu", "-o", str(tmp_path / "ccu.vvp"),
                          str(out / gen_regs.OUTPUTS["sv"]), str(REPO / "hdl/eie_act_queue.sv"),
                          str(REPO / "hdl/eie_ccu.sv")], capture_output=True, text=True)
    assert res.returncode == 0 and not res.stderr.strip(), res.stderr


def test_c_header_compiles_and_agrees(tmp_path: Path) -> None:
    include = REPO / gen_regs.OUTPUTS["c"].parent
    cb1 = regmap.DESC_BASE + regmap.DESC_STRIDE + regmap.D_CODEBOOK
    _c_syntax_check(tmp_path, include, "\n".join([
        f'_Static_assert(EIE_REGS__ID__VALUE_reset == 0x{regmap.ID_VALUE:X}u, "ID");',
        f'_Static_assert(EIE_REGS__STATUS__DONE_bm == 0x{regmap.STATUS_DONE:X}, "STATUS.DONE");',
        f'_Static_assert(offsetof(eie_regs_t, BCAST_COUNT) == 0x{regmap.REG_BCAST_COUNT:X}, "BCAST_COUNT");',
        f'_Static_assert(offsetof(eie_regs_t, DESC[1].CODEBOOK) == 0x{cb1:X}, "DESC[1].CODEBOOK");',
        "unsigned start(volatile eie_regs_t *r) { r->CTRL = EIE_REGS__CTRL__START_bm; "
        "return (r->STATUS & EIE_REGS__STATUS__BUSY_bm) >> EIE_REGS__STATUS__BUSY_bp; }",
    ]))


def test_python_constants_match_the_description() -> None:
    _, top = gen_regs.compile_rdl()
    for reg in top.children():
        if hasattr(reg, "fields") and not reg.is_array:
            assert getattr(regmap, f"REG_{reg.inst_name}") == reg.absolute_address
    code = top.get_child_by_name("ERROR").get_child_by_name("CODE").get_property("encode")
    assert regmap.ERROR_NAMES == {m.value: m.rdl_desc for m in code}
    assert regmap.PE_ERROR_BITS[2] == "output rows > ACT_DEPTH"
    assert (regmap.MEM_PTR_EVEN, regmap.MEM_ACT_SRC, regmap.MEM_ACT_DST) == (0, 3, 4)


def test_bad_description_is_refused(tmp_path: Path) -> None:
    rdl = tmp_path / "bad.rdl"
    rdl.write_text(gen_regs.RDL.read_text().replace("} BCAST_COUNT @ 0x030;", "} BCAST_COUNT @ 0x020;"))
    with pytest.raises(gen_regs.RegsError, match="SystemRDL compile failed"):
        gen_regs.generate(tmp_path / "out", rdl)
    assert gen_regs.main(["--rdl", str(rdl), "--out", str(tmp_path / "out2")]) == 1


def test_backdoor_memory_selects_are_the_register_maps(tmp_path: Path) -> None:
    """The SRAM back door (verif/backdoor.py, the PE BFM's requests, the harness's eie_bd_mems.hex)
    numbers the memories with the register map's MEM_* (hdl/eie_regs.rdl), not a copy of them."""
    import numpy as np

    from verif.backdoor import BACKDOOR_MEMORIES
    from verif.tb.pe_bfm import backdoor_requests

    assert BACKDOOR_MEMORIES == (regmap.MEM_SPM, regmap.MEM_PTR_EVEN, regmap.MEM_PTR_ODD, regmap.MEM_ACT_SRC)
    spm, even, odd, act = (np.full(n, v) for n, v in ((3, 0x51), (2, 0xE), (2, 0xD), (4, 0xA)))
    reqs = backdoor_requests(spm, even, odd, act, 8, tmp_path)
    got = {r.mem: (r.words, r.path.read_text().split()[0]) for r in reqs}
    assert got == {regmap.MEM_SPM: (3, "51"), regmap.MEM_PTR_EVEN: (2, "e"), regmap.MEM_PTR_ODD: (2, "d"),
                   regmap.MEM_ACT_SRC: (4, "a")}
