"""Bench: eie_top's register file against its description (hdl/eie_regs.rdl), through the AXI4-Lite
front door (EieTopBfm.read/write). Nothing here is a hand-written register table: the registers,
fields, reset values and parameter-derived values come from the compiled description, elaborated
with the bench's own parameters (MAX_LAYERS, IDX_W, ...), so a disagreement between RTL and
description fails.

Tests (one small eie_top: NUM_PE=2, small memories, MAX_LAYERS=4):
- reset_values: after reset every readable register reads its reset value (or the eie_top
  parameter its field names with `rtl_param`), unused bits 0; write-only registers read 0 (OKAY).
- write_readback: every software-writable, readable register (NUM_LAYERS, PE_SEL, every field of
  every descriptor) takes a random word and its complement, reads back the field bits only; at the
  end every register still holds its last value (no aliasing between addresses).
- unmapped_and_read_only: every word of the 12-bit space that the description does not map answers
  SLVERR to reads (data 0) and writes; writes to read-only registers are refused with SLVERR and
  change nothing; unaligned reads answer SLVERR.
- RalFrontDoorTest (pyuvm): the generated pyuvm register model (verif/ral) with RegAdapter on the
  environment's register agent: reads/writes/mirror of registers and descriptor fields.
"""

from __future__ import annotations

import cocotb
import pytest
import pyuvm
from cocotb.triggers import ReadOnly, RisingEdge
from pyuvm import ConfigDB, uvm_status_e, uvm_test

from verif.agents.reg_agent import RegAgent
from verif.tb.common import bench_params, make_rng, read_uint
from verif.tb.top_bfm import AxiLiteError, EieTopBfm

RDL_PARAMS = ("MAX_LAYERS", "IDX_W", "ACT_W", "W_W")
MASK32 = 0xFFFF_FFFF


# ----------------------------------------------------------------------------- the description


def described_registers(p: dict) -> list:
    """Every register (arrays unrolled) of hdl/eie_regs.rdl elaborated with the bench's parameters."""
    from systemrdl.node import RegNode

    from scripts.gen_regs import compile_rdl

    _, top = compile_rdl(parameters={k: p[k] for k in RDL_PARAMS if k in p})
    return [n for n in top.descendants(unroll=True) if isinstance(n, RegNode)]


def field_mask(f) -> int:
    return ((1 << f.width) - 1) << f.lsb


def expected_after_reset(reg, p: dict) -> tuple[int, int]:
    """(value, mask of the bits whose value the description fixes): reset values, fields that read
    an eie_top parameter (`rtl_param`), and 0 in the bits no field covers."""
    value, unknown = 0, 0
    for f in reg.fields():
        if not f.is_sw_readable:
            continue
        param = f.get_property("rtl_param", default=None)
        reset = f.get_property("reset")
        if param is not None:
            v = p[param]
        elif isinstance(reset, int):
            v = reset
        else:
            unknown |= field_mask(f)
            continue
        value |= (v & ((1 << f.width) - 1)) << f.lsb
    return value, MASK32 & ~unknown


def readable(reg) -> bool:
    return any(f.is_sw_readable for f in reg.fields())


def rw_mask(reg) -> int:
    """Bits of the fields software can both write and read back."""
    mask = 0
    for f in reg.fields():
        if f.is_sw_writable and f.is_sw_readable:
            mask |= field_mask(f)
    return mask


async def access(bfm: EieTopBfm, what: str, addr: int, value: int | None = None, expect_error: bool = False) -> int:
    """One read (value None) or write; a response other than the described one fails naming `what`."""
    try:
        if value is None:
            return await bfm.read(addr, expect_error)
        await bfm.write(addr, value, expect_error)
        return 0
    except AxiLiteError as exc:
        raise AssertionError(f"{what} @ {addr:#05x}: the RTL answered {'OKAY' if expect_error else 'SLVERR'}, "
                             f"the description says {'SLVERR' if expect_error else 'OKAY'} ({exc})") from None


async def setup(dut) -> tuple[EieTopBfm, dict, list]:
    p = bench_params()
    bfm = EieTopBfm(dut)
    await bfm.clock_and_reset()
    for _ in range(100_000):             # the PEs clear their accumulators after reset
        await RisingEdge(dut.clk_i)
        await ReadOnly()
        if read_uint(dut.ld_ready_o, "ld_ready_o"):
            break
    else:
        raise AssertionError("ld_ready_o never rose after reset")
    await RisingEdge(dut.clk_i)
    return bfm, p, described_registers(p)


# ----------------------------------------------------------------------------- cocotb tests


@cocotb.test()
async def reset_values(dut) -> None:
    bfm, p, regs = await setup(dut)
    for reg in regs:
        addr = reg.absolute_address
        got = await access(bfm, f"described register {reg.get_path()}", addr)
        if readable(reg):
            value, known = expected_after_reset(reg, p)
            assert got & known == value, (f"{reg.get_path()} @ {addr:#05x}: read {got:#010x}, the description "
                                          f"says {value:#010x} (mask {known:#010x})")
        else:
            assert got == 0, f"write-only {reg.get_path()} @ {addr:#05x} reads {got:#x}, expected 0"
    cocotb.log.info("%d registers read their described reset values", len(regs))


@cocotb.test()
async def write_readback(dut) -> None:
    bfm, _, regs = await setup(dut)
    rng = make_rng("write_readback")
    rw_regs = [r for r in regs if rw_mask(r)]
    assert {r.inst_name for r in rw_regs} >= {"NUM_LAYERS", "PE_SEL", "IN_LEN", "CODEBOOK"}
    last: dict[int, tuple[str, int]] = {}
    for reg in rw_regs:
        addr, mask = reg.absolute_address, rw_mask(reg)
        word = int(rng.integers(0, 2**32))
        for value in (word, word ^ MASK32):
            await access(bfm, reg.get_path(), addr, value)
            got = await access(bfm, reg.get_path(), addr)
            assert got == value & mask, (f"{reg.get_path()} @ {addr:#05x}: wrote {value:#010x}, read {got:#010x}, "
                                         f"expected {value & mask:#010x} (field bits {mask:#010x})")
        last[addr] = (reg.get_path(), got)
    for addr, (path, value) in last.items():
        got = await bfm.read(addr)
        assert got == value, f"{path} @ {addr:#05x} changed to {got:#010x} (last written {value:#010x})"
    cocotb.log.info("%d read-write registers checked", len(rw_regs))


@cocotb.test()
async def unmapped_and_read_only(dut) -> None:
    bfm, p, regs = await setup(dut)
    rng = make_rng("unmapped_and_read_only")
    mapped = {r.absolute_address: r for r in regs}
    space = 1 << p.get("AXIL_AW", 12)
    holes = [a for a in range(0, space, 4) if a not in mapped]
    assert len(holes) + len(mapped) == space // 4
    for addr in holes:
        got = await access(bfm, "unmapped word (read)", addr, expect_error=True)
        assert got == 0, f"unmapped {addr:#05x} read {got:#x} with SLVERR, expected 0"
        await access(bfm, "unmapped word (write)", addr, int(rng.integers(0, 2**32)), expect_error=True)
    for addr, reg in mapped.items():
        if any(f.is_sw_writable for f in reg.fields()):
            continue
        await access(bfm, f"read-only {reg.get_path()} (write)", addr, int(rng.integers(0, 2**32)),
                     expect_error=True)
        value, known = expected_after_reset(reg, p)
        got = await bfm.read(addr)
        assert got & known == value, f"refused write changed {reg.get_path()}: {got:#010x}"
    for addr in sorted(mapped)[:: max(1, len(mapped) // 8)]:
        for off in (1, 2, 3):
            await access(bfm, "unaligned read", addr + off, expect_error=True)
    # the refused writes left the read-write registers at their reset values
    for addr, reg in mapped.items():
        if rw_mask(reg):
            value, known = expected_after_reset(reg, p)
            got = await bfm.read(addr)
            assert got & known == value, f"{reg.get_path()} changed by a refused write: {got:#010x}"
    cocotb.log.info("%d unmapped words answer SLVERR", len(holes))


# ----------------------------------------------------------------------------- pyuvm: the RAL model


@pyuvm.test()
class RalFrontDoorTest(uvm_test):
    """The generated pyuvm register model, mapped through RegAdapter onto the environment's own
    register agent (verif/agents/reg_agent.py: the AXI4-Lite driver and monitor every test uses)."""

    def build_phase(self) -> None:
        self.bfm = EieTopBfm(cocotb.top)
        ConfigDB().set(None, "*", "BFM", self.bfm)
        self.reg = RegAgent("reg", self)

    async def run_phase(self) -> None:
        from verif.ral import build_regmodel
        from verif.ral.adapter import RegAdapter

        self.raise_objection()
        p = bench_params()
        await self.bfm.clock_and_reset()
        model = build_regmodel()
        model.get_default_map().set_sequencer(self.reg.seqr, RegAdapter())
        ok = uvm_status_e.UVM_IS_OK

        status, value = await model.ID.read()
        assert status == ok and value == model.ID.get_reset(), f"ID read {value:#x}"
        status, value = await model.HWCFG.read()
        assert status == ok
        fields = (model.HWCFG.MAX_LAYERS, model.HWCFG.FIFO_DEPTH, model.HWCFG.NUM_PE)   # mirrored by the read
        assert [f.get_mirrored_value() for f in fields] == [p["MAX_LAYERS"], p["FIFO_DEPTH"], p["NUM_PE"]], hex(value)
        status, value = await model.NUM_LAYERS.read()
        assert status == ok and value == model.NUM_LAYERS.get_reset()

        assert await model.NUM_LAYERS.write(3) == ok
        assert await model.DESC[1].CODEBOOK[2].write(0x1234_ABCD) == ok
        assert await model.DESC[p["MAX_LAYERS"] - 1].PTR_BASE.write(0x2A) == ok
        status, value = await model.DESC[1].CODEBOOK[2].read()
        assert status == ok and value == 0x1234_ABCD, f"CODEBOOK read {value:#x}"
        status, value = await model.DESC[p["MAX_LAYERS"] - 1].PTR_BASE.read()
        assert status == ok and value == 0x2A
        status, value = await model.NUM_LAYERS.read()
        assert status == ok and value == 3 == model.NUM_LAYERS.get_mirrored_value()
        self.drop_objection()


# ----------------------------------------------------------------------------- pytest side

# the same eie_top as the 2-PE configuration of verif/tests/test_uvm.py (one shared build)
PARAMS = {"NUM_PE": 2, "FIFO_DEPTH": 1, "MAX_LAYERS": 4, "ACT_DEPTH": 128, "SPM_WORDS": 512,
          "PTR_DEPTH": 2048, "PTR_W": (512 * 8).bit_length()}


@pytest.mark.parametrize("params", [PARAMS], ids=["pe2"])
def test_eie_regs(bench, params: dict) -> None:
    bench(
        toplevel="eie_top",
        test_module="verif.units.test_eie_regs",
        parameters=params,
        bench_env={**params, "AXIL_AW": 12},
    )
