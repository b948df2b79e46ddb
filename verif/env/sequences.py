"""Sequences of network runs (run on the network agent's sequencer). Stimulus comes from the test's
seeded generator (ConfigDB "RNG") so a seed reproduces a run exactly."""

from __future__ import annotations

import numpy as np
from pyuvm import ConfigDB, uvm_sequence

from models.cycles import rtl_layer_cycles
from models.errors import CapacityError
from models.hwparams import HwParams
from verif.agents.load_agent import LoadSeq
from verif.agents.network_agent import ItemsSeq, NetworkItem
from verif.agents.reg_agent import RegItem
from verif.env.directed import edge_cases
from verif.env.watchdog import wait_run_end
from verif.program import LoadBeat, describe_error, descriptor_error_cases, descriptor_writes, load_beats
from verif.regmap import (
    CTRL_CLEAR,
    CTRL_START,
    D_BIAS_ACT,
    D_CODEBOOK,
    D_CODEBOOK_COUNT,
    D_CODEBOOK_STRIDE,
    D_FLAGS,
    D_IN_LEN,
    D_OUT_LEN,
    D_PTR_BASE,
    D_SHIFT,
    DESC_BASE,
    DESC_COUNT,
    DESC_STRIDE,
    ERR_LOAD_PE,
    ERR_PE,
    ERROR_CODE_LSB,
    ERROR_CODE_WIDTH,
    ERROR_PE_LSB,
    ERROR_PE_WIDTH,
    HWCFG_FIFO_DEPTH_LSB,
    HWCFG_FIFO_DEPTH_WIDTH,
    HWCFG_MAX_LAYERS_LSB,
    HWCFG_MAX_LAYERS_WIDTH,
    HWCFG_NUM_PE_LSB,
    HWCFG_NUM_PE_WIDTH,
    ID_VALUE,
    MEM_PTR_ODD,
    MEM_SPM,
    REG_ACT_DEPTH,
    REG_BCAST_COUNT,
    REG_CTRL,
    REG_CYCLES,
    REG_ERROR,
    REG_HWCFG,
    REG_ID,
    REG_LAYER_CYCLES,
    REG_NUM_LAYERS,
    REG_PE_BLOCKED,
    REG_PE_BUSY,
    REG_PE_ERR,
    REG_PE_SEL,
    REG_PE_STARVED,
    REG_PTR_DEPTH,
    REG_SPM_WORDS,
    REG_STATUS,
    STATUS_BUSY,
    STATUS_ERROR,
)
from verif.stimulus import random_network

# addresses the register map does not have (SLVERR expected): past the last descriptor, unaligned,
# and the two reserved words of a descriptor (between SHIFT and the codebook)
UNMAPPED_ADDR = 0xFF0
assert UNMAPPED_ADDR >= DESC_BASE + DESC_STRIDE * DESC_COUNT
UNALIGNED_ADDR = REG_ID + 2
RESERVED_DESC_WORDS = tuple(range(D_SHIFT + 4, D_CODEBOOK, 4))


def field(value: int, lsb: int, width: int) -> int:
    """Bits [lsb + width - 1 : lsb] of a register value."""
    return (value >> lsb) & ((1 << width) - 1)


class _NetworkSeqBase(uvm_sequence):
    def setup(self) -> tuple[np.random.Generator, HwParams]:
        return ConfigDB().get(None, "", "RNG"), ConfigDB().get(None, "", "HW")

    async def run(self, item: NetworkItem) -> None:
        await self.start_item(item)
        await self.finish_item(item)


def random_item(rng: np.random.Generator, hw: HwParams, label: str, max_len: int = 96,
                layer_choices: tuple[int, ...] = (1, 1, 2, 3), density_choices=(0.05, 0.2, 0.5, 1.0),
                backdoor: bool = False) -> NetworkItem:
    """A random network that fits `hw`: random shape (1..max_len), densities, codebook, formats,
    signed inputs, ReLU and bias flags."""
    for _ in range(100):
        layers, act = random_network(rng, hw, int(rng.choice(layer_choices)), max_len, density_choices)
        try:
            return NetworkItem(label, layers, act, hw, backdoor=backdoor)
        except CapacityError:
            continue
    raise RuntimeError(f"no random network of length <= {max_len} fits {hw}")


class RandomNetworksSeq(_NetworkSeqBase):
    """`count` constrained-random networks, loaded through the load stream (one in four through
    the back door)."""

    def __init__(self, name: str = "random_networks", count: int = 4, max_len: int = 96,
                 density_choices=(0.05, 0.2, 0.5, 1.0)) -> None:
        super().__init__(name)
        self.count, self.max_len, self.density_choices = count, max_len, density_choices

    async def body(self) -> None:
        rng, hw = self.setup()
        for i in range(self.count):
            await self.run(random_item(rng, hw, f"random network {i}", self.max_len,
                                       density_choices=self.density_choices, backdoor=i % 4 == 3))


class EdgeCasesSeq(_NetworkSeqBase):
    """One run per directed corner case of verif/env/directed.py; a case whose memories take more
    than BACKDOOR_BEATS load beats (the capacity edges, long vectors) is loaded through the back
    door (checked equal to the load stream by the other tests), the rest through the load stream."""

    BACKDOOR_BEATS = 2000

    async def body(self) -> None:
        rng, hw = self.setup()
        for name, layers, act in edge_cases(rng, hw):
            if layers is None:
                self.logger.warning("skipped %s: %s", name, act)
                continue
            item = NetworkItem(name, layers, act, hw)
            item.backdoor = len(load_beats(item.image, item.act)) > self.BACKDOOR_BEATS
            await self.run(item)


class ResetMidLayerSeq(_NetworkSeqBase):
    """A run reset at a random point of its computation, then the same network again from scratch:
    its outputs must be exact (nothing of the aborted run may survive)."""

    def __init__(self, name: str = "reset_mid_layer", repeats: int = 2) -> None:
        super().__init__(name)
        self.repeats = repeats

    async def body(self) -> None:
        rng, hw = self.setup()
        for i in range(self.repeats):
            base = random_item(rng, hw, f"network {i}", layer_choices=(2, 3), density_choices=(0.2, 0.5, 1.0))
            a = base.act
            busy = 0
            for li, pl in enumerate(base.image.layers):
                busy += rtl_layer_cycles(pl, a, hw).cycles
                a = base.golden[li]
            # START -> the CCU's first broadcast takes a few cycles; reset anywhere in the layers
            reset_at = int(rng.integers(8, max(busy, 9) + 8))
            aborted = NetworkItem(f"network {i} (reset {reset_at} cycles after START)", base.layers, base.act, hw,
                                  reset_after=reset_at)
            await self.run(aborted)
            await self.run(NetworkItem(f"network {i} rerun after the reset", base.layers, base.act, hw))


class HungOutputSeq(_NetworkSeqBase):
    """A network whose output stream the host never reads (out_ready_i held low): the run cannot
    end; the progress watchdog must end it with an error naming the last activity (the scoreboard
    checks that), the driver resets the design, and a good network then runs bit-exactly."""

    async def body(self) -> None:
        rng, hw = self.setup()
        base = random_item(rng, hw, "network with a stalled output stream", layer_choices=(1, 2))
        await self.run(NetworkItem(base.label, base.layers, base.act, hw, stall_output=True))
        await self.run(NetworkItem("the same network after the hang", base.layers, base.act, hw))


class BackToBackSeq(_NetworkSeqBase):
    """Several networks in a row without reset, loaded alternately through the load stream and the
    back door (the second one through the back door); each followed by a batch of new inputs on the
    same weights (only the input activations loaded, `reuse_weights`: the batch mode of `make run`)."""

    def __init__(self, name: str = "back_to_back", count: int = 3, batch: int = 2) -> None:
        super().__init__(name)
        self.count, self.batch = count, batch

    async def body(self) -> None:
        rng, hw = self.setup()
        for i in range(self.count):
            base = random_item(rng, hw, f"back-to-back network {i}", backdoor=i % 2 == 1)
            await self.run(base)
            lo, hi = -(1 << (hw.act_width - 1)), (1 << (hw.act_width - 1)) - 1
            for b in range(self.batch):
                act = rng.integers(lo, hi + 1, base.act.size) * (rng.random(base.act.size) < 0.5)
                await self.run(NetworkItem(f"network {i}, new input {b + 1} on its loaded weights", base.layers,
                                           act, hw, image=base.image, reuse_weights=True, pe_counters=b == 0))


class HostErrorsSeq(_NetworkSeqBase):
    """Virtual sequence on the register and load sequencers: the register map (ID, HWCFG, memory
    sizes, SLVERR for read-only and unmapped addresses, every descriptor field read back), every
    reachable descriptor error code, the two load-stream errors (a beat for a PE >= NUM_PE; an
    address past a PE memory, reported at START), each followed by CLEAR; then a good network on
    the network sequencer, checked by the scoreboard. Raises AssertionError on a wrong register
    value or error code."""

    async def _write(self, addr: int, value: int, expect_error: bool = False) -> None:
        await ItemsSeq("w", [RegItem("w", addr, value, write=True, expect_error=expect_error)]).start(self.reg_seqr)

    async def _read(self, addr: int, expect_error: bool = False) -> int:
        item = RegItem("r", addr, write=False, expect_error=expect_error)
        await ItemsSeq("r", [item]).start(self.reg_seqr)
        return int(item.rdata)

    async def _run_expecting(self, code: int, what: str) -> None:
        """START; the run must end (under the progress watchdog) with error `code`, then CLEAR."""
        db = ConfigDB()
        await self._write(REG_CTRL, CTRL_START)
        hang = await wait_run_end(db.get(None, "", "BFM"), db.get(None, "", "ACTIVITY"),
                                  db.get(None, "", "WATCHDOG_CYCLES"))
        assert hang is None, f"{what}: {hang}"
        status = await self._read(REG_STATUS)
        assert not status & STATUS_BUSY, f"{what}: busy_o low but STATUS {status:#x}"
        error = await self._read(REG_ERROR)
        assert status & STATUS_ERROR and field(error, ERROR_CODE_LSB, ERROR_CODE_WIDTH) == code, (
            f"{what}: STATUS {status:#x}, ERROR {error:#x} ({describe_error(error, await self._read(REG_PE_ERR))}), "
            f"expected error code {code}")
        await self._write(REG_CTRL, CTRL_CLEAR)
        assert not (await self._read(REG_STATUS)) & STATUS_ERROR, f"{what}: CLEAR left the error bit set"

    async def body(self) -> None:
        rng, hw = self.setup()
        self.reg_seqr = ConfigDB().get(None, "", "REG_SEQR")
        load_seqr = ConfigDB().get(None, "", "LOAD_SEQR")
        max_layers = ConfigDB().get(None, "", "MAX_LAYERS")

        # register map
        assert await self._read(REG_ID) == ID_VALUE, "ID register"
        hwcfg = await self._read(REG_HWCFG)
        assert (field(hwcfg, HWCFG_NUM_PE_LSB, HWCFG_NUM_PE_WIDTH),
                field(hwcfg, HWCFG_FIFO_DEPTH_LSB, HWCFG_FIFO_DEPTH_WIDTH),
                field(hwcfg, HWCFG_MAX_LAYERS_LSB, HWCFG_MAX_LAYERS_WIDTH)) == (hw.num_pe, hw.fifo_depth, max_layers), (
            f"HWCFG {hwcfg:#x} for {hw.num_pe} PEs, FIFO {hw.fifo_depth}, {max_layers} layers")
        sizes = [await self._read(a) for a in (REG_ACT_DEPTH, REG_SPM_WORDS, REG_PTR_DEPTH)]
        assert sizes == [hw.act_depth, hw.spm_words, hw.ptr_depth], f"memory size registers {sizes}"
        for addr in (REG_ID, REG_CYCLES, REG_STATUS, UNMAPPED_ADDR):
            await self._write(addr, 1, expect_error=True)
        for addr in (UNMAPPED_ADDR, UNALIGNED_ADDR):
            await self._read(addr, expect_error=True)
        for li in range(max_layers):
            base = DESC_BASE + DESC_STRIDE * li
            fields = [(D_IN_LEN, int(rng.integers(1, 2**15))), (D_OUT_LEN, int(rng.integers(1, 2**15))),
                      (D_FLAGS, int(rng.integers(0, 4))), (D_BIAS_ACT, int(rng.integers(0, 2**16))),
                      (D_PTR_BASE, int(rng.integers(0, 2**15))), (D_SHIFT, int(rng.integers(0, 2**hw.shift_width))),
                      *[(D_CODEBOOK + D_CODEBOOK_STRIDE * i, int(rng.integers(0, 2**32)))
                        for i in range(D_CODEBOOK_COUNT)]]
            for off, value in fields:
                await self._write(base + off, value)
            for off, value in fields:
                got = await self._read(base + off)
                assert got == value, f"descriptor {li} offset {off:#x}: wrote {value:#x}, read {got:#x}"

        # descriptor errors on a good two-layer network
        item = random_item(rng, hw, "host errors", layer_choices=(2,), max_len=48)
        good = descriptor_writes(item.image, max_layers)
        for name, patch, code in descriptor_error_cases(item.image, max_layers):
            for addr, value in good + patch:
                await self._write(addr, value)
            await self._run_expecting(code, name)

        # load-stream errors
        await LoadSeq("bad pe", [LoadBeat(hw.num_pe, MEM_SPM, 0, 1)]).start(load_seqr)
        error = await self._read(REG_ERROR)
        assert (field(error, ERROR_CODE_LSB, ERROR_CODE_WIDTH) == ERR_LOAD_PE
                and field(error, ERROR_PE_LSB, ERROR_PE_WIDTH) == hw.num_pe), (
            f"beat for PE {hw.num_pe}: ERROR {error:#x}")
        await self._write(REG_CTRL, CTRL_CLEAR)
        pe = int(rng.integers(0, hw.num_pe))
        await LoadSeq("bad address", [LoadBeat(pe, MEM_SPM, hw.spm_words, 1)]).start(load_seqr)
        for addr, value in good:
            await self._write(addr, value)
        await self._run_expecting(ERR_PE, f"SPM address {hw.spm_words} in PE {pe}")

        # registers read back and refused (the rest of the map)
        for addr in (REG_CTRL, REG_NUM_LAYERS, REG_PE_ERR, REG_CYCLES, REG_BCAST_COUNT,
                     *[REG_LAYER_CYCLES + 4 * li for li in range(max_layers)]):
            await self._read(addr)
        for off in RESERVED_DESC_WORDS:
            await self._read(DESC_BASE + off, expect_error=True)
        for k in (0, hw.num_pe - 1, hw.num_pe):        # PE_SEL past the last PE reads counters as 0
            await self._write(REG_PE_SEL, k)
            assert await self._read(REG_PE_SEL) == k, "PE_SEL read-back"
            counters = [await self._read(a) for a in (REG_PE_BUSY, REG_PE_STARVED, REG_PE_BLOCKED)]
            assert k < hw.num_pe or counters == [0, 0, 0], f"counters of PE {k} (>= NUM_PE): {counters}"

        # memory that is wrong: PE 0's end pointers past its sparse-matrix memory. The layer runs,
        # PE 0 drops those columns and reports a pointer-range error at the end of layer 0.
        if item.act.any() or item.image.layers[0].desc.has_bias:     # some column is broadcast
            bad = [LoadBeat(0, MEM_PTR_ODD, a, 8 * hw.spm_words + 1) for a in range(item.image.ptr_odd.shape[1])]
            await self.run(NetworkItem("corrupt pointers", item.layers, item.act, hw, corrupt=bad,
                                       expect_error=ERR_PE))

        # and a good run afterwards (everything reloaded), checked by the scoreboard
        await self.run(item)

