"""Passive BFMs of eie_top (cocotb only): they watch pins and never drive them.

(One valid/ready stream: `verif.tb.monitor.StreamMonitor`, with a callback and stall counts.)
- `AxiLiteMonitor`: the five AXI4-Lite channels; calls back with each completed write and read.
- `WritebackProbe`: every PE's write-back port (accumulator -> destination activation buffer), with
  the CCU's current layer: the only place where a hidden layer's outputs can be seen (read in bulk
  from eie_top's simulation-side recorders, verif/tb/recorder.py).
- `HazardProbe`: the entries entering the arithmetic unit of PE0..PE3; reports the distance in
  cycles between two entries of the same accumulator row while the first is still in the pipeline
  (1..4: the read-after-write hazards the bypass network resolves).

Everything is sampled in ReadOnly; an X/Z on a handshake or on a field of a moving beat fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from cocotb.triggers import First, ReadOnly, RisingEdge
from cocotb.utils import get_sim_time

from verif.tb.common import read_uint
from verif.tb.recorder import StreamRecorder

PIPELINE_DEPTH = 4  # eie_arith: S1 entry .. S4 write; a same-row entry closer than this needs a bypass


def now_ns() -> float:
    return float(get_sim_time("ns"))


@dataclass
class AxiLiteTransfer:
    write: bool
    addr: int
    data: int
    resp: int
    time_ns: float


class AxiLiteMonitor:
    """Pairs AW with W and B for writes, AR with R for reads (one outstanding of each, as the
    slave allows). Stall = a cycle where a valid waits for its ready on any channel. Event-driven:
    while no channel's valid is high it sleeps until one rises."""

    def __init__(self, dut, callback: Callable[[AxiLiteTransfer], None] | None = None) -> None:
        self.dut, self.callback = dut, callback
        self.stall_cycles = 0
        self.transfers = 0

    async def run(self) -> None:
        d = self.dut
        aw = w = ar = None
        chans = [("aw", d.s_axil_awvalid_i, d.s_axil_awready_o), ("w", d.s_axil_wvalid_i, d.s_axil_wready_o),
                 ("b", d.s_axil_bvalid_o, d.s_axil_bready_i), ("ar", d.s_axil_arvalid_i, d.s_axil_arready_o),
                 ("r", d.s_axil_rvalid_o, d.s_axil_rready_i)]
        valids = [valid for _, valid, _ in chans]
        await RisingEdge(d.clk_i)
        while True:
            await ReadOnly()
            if not any(not v.value.is_resolvable or int(v.value) for v in valids):
                await First(*(RisingEdge(v) for v in valids))     # bus idle: sleep
                continue
            for name, valid, ready in chans:
                if not read_uint(valid, f"axil {name}valid"):
                    continue
                if not read_uint(ready, f"axil {name}ready"):
                    self.stall_cycles += 1
                    continue
                if name == "aw":
                    aw = read_uint(d.s_axil_awaddr_i, "awaddr")
                elif name == "w":
                    w = read_uint(d.s_axil_wdata_i, "wdata")
                elif name == "ar":
                    ar = read_uint(d.s_axil_araddr_i, "araddr")
                elif name == "b":
                    self._done(True, aw, w, read_uint(d.s_axil_bresp_o, "bresp"))
                    aw = w = None
                else:
                    self._done(False, ar, read_uint(d.s_axil_rdata_o, "rdata"), read_uint(d.s_axil_rresp_o, "rresp"))
                    ar = None
            await RisingEdge(d.clk_i)

    def _done(self, write: bool, addr: int | None, data: int | None, resp: int) -> None:
        assert addr is not None and data is not None, "AXI4-Lite response without its request"
        self.transfers += 1
        if self.callback is not None:
            self.callback(AxiLiteTransfer(write, addr, data, resp, now_ns()))


@dataclass(frozen=True)
class Writeback:
    layer: int
    pe: int
    row: int        # local row in the PE
    data: int       # raw activation bits
    time_ns: float


class WritebackProbe:
    """Every PE's write-back port (accumulator -> destination buffer), with the CCU's layer number,
    read in bulk from the PE's simulation-side recorder in eie_top (`g_pe[k].u_wb_rec`, beat =
    {layer, local row, data}; verif/tb/recorder.py): no Python wakes per write-back. `tasks()` are
    the readers (one per PE, each asleep until its ring is half full); `drain()` hands over
    everything recorded so far (the environment calls it before it judges a run). Write-backs
    reach the callback in order per PE, with the time of the edge they moved at."""

    def __init__(self, dut, num_pe: int, callback: Callable[[Writeback], None]) -> None:
        act_w = len(dut.out_data_o)                            # ACT_W, as every PE's
        row_w = len(dut.g_pe[0].u_wb_rec.entry_q[0]) - 32 - 8 - act_w  # $clog2(ACT_DEPTH)
        fields = [("data", act_w), ("row", row_w), ("layer", 8)]
        self.recorders = [
            StreamRecorder(dut.g_pe[k].u_wb_rec, fields,
                           lambda b, t, k=k: callback(Writeback(b["layer"], k, b["row"], b["data"], t)),
                           name=f"PE {k} write-back")
            for k in range(num_pe)]

    def tasks(self):
        return [rec.run() for rec in self.recorders]

    def drain(self) -> int:
        return sum(rec.drain() for rec in self.recorders)


@dataclass
class HazardProbe:
    """Same-row distances at the arithmetic unit's entry of up to four PEs (per-cycle sampling,
    so only a few PEs are watched)."""

    dut: object
    pes: int
    callback: Callable[[int, int], None]      # (pe, distance in cycles)
    recent: list[list[tuple[int, int]]] = field(default_factory=list)

    async def run(self) -> None:
        # each PE's entry trace (eie_pe hz_* ports, wired to g_pe[k].hz_* in eie_top)
        pes = [self.dut.g_pe[k] for k in range(self.pes)]
        self.recent = [[] for _ in pes]
        cycle = 0
        while True:
            # sleep while no watched PE has work: wake on any entry valid
            if not any(int(p.hz_valid.value) if p.hz_valid.value.is_resolvable else 1 for p in pes):
                await First(*(RisingEdge(p.hz_valid) for p in pes))
                cycle += 1_000_000          # any history is older than the pipeline now
            await RisingEdge(self.dut.clk_i)
            cycle += 1
            await ReadOnly()
            for k, p in enumerate(pes):
                if not (read_uint(p.hz_valid, "hz_valid") and read_uint(p.hz_ready, "hz_ready")):
                    continue
                row = read_uint(p.hz_row, f"PE {k} entry row")
                hist = [(c, r) for c, r in self.recent[k] if cycle - c <= PIPELINE_DEPTH]
                for c, r in reversed(hist):      # the nearest earlier entry of this row
                    if r == row:
                        self.callback(k, cycle - c)
                        break
                hist.append((cycle, row))
                self.recent[k] = hist
