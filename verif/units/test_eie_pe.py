"""Bench of hdl/eie_pe.sv: one PE's share of layers from models/, checked bit-exactly.

Each layer is made in Python (random or directed codes, codebook, formats and inputs), encoded and
placed by models.encode for NUM_PE PEs; this PE (PE_ID) is loaded with its memory images through
the I/O port, gets the whole broadcast stream of non-zero (j, a_j) (plus the bias column) with random
gaps, and its destination activations are read back and compared with models.golden. The local
non-zero stream (what the PE offers the LNZD tree) is compared with the PE's non-zero inputs.
"""

from __future__ import annotations

import cocotb
import numpy as np
import pytest

from models.compress import LayerDesc, QuantLayer
from models.encode import local_activations, place_network
from models.golden import broadcast_columns, run_network
from models.hwparams import HwParams
from verif.stimulus import fits, random_codes, random_desc, random_input
from verif.tb.common import bench_params, make_rng, start_clock_and_reset
from verif.tb.pe_bfm import MEM_ACT_SRC, LayerConfig, PeBfm
from verif.tb.stream import bursty_pause, never, random_pause

# ----------------------------------------------------------------------------- layer makers


def hw_from(p: dict) -> HwParams:
    return HwParams(num_pe=p["num_pe"], fifo_depth=p["fifo_depth"], spm_words=p["spm_words"],
                    ptr_width=p["ptr_w"], ptr_depth=p["ptr_depth"], act_depth=p["act_depth"])


# ----------------------------------------------------------------------------- cocotb side


async def run_network_on_pe(dut, bfm: PeBfm, hw: HwParams, layers: list[QuantLayer],
                            act_in: np.ndarray, rng: np.random.Generator, label: str,
                            stalls: bool = True, backdoor: bool = False) -> list[int]:
    """Load, run every layer, compare each layer's outputs of this PE with the golden model.

    More than one layer needs NUM_PE == 1 (the next input is this PE's own output)."""
    p = bench_params()
    k = p["pe_id"]
    image = place_network(layers, hw)
    golden = run_network(image, act_in)
    local_in = local_activations(act_in, hw, layers[0].desc.in_len)[k]
    if backdoor:   # straight into the SRAM arrays; the I/O port path is the default
        await bfm.backdoor_load(image.spm[k], image.ptr_even[k], image.ptr_odd[k], local_in)
    else:
        await bfm.load(image.spm[k], image.ptr_even[k], image.ptr_odd[k], local_in)
    cycles = []
    a = act_in
    for li, pl in enumerate(image.layers):
        d = pl.desc
        bj, ba = broadcast_columns(a, d)
        cfg = LayerConfig(ptr_base=pl.ptr_base, codebook=d.codebook_q, shift=d.shift, relu=d.relu,
                          in_len=d.in_len, out_len=d.out_len, dual=d.dual and bool(rng.random() < 0.75))
        if stalls:
            kind = rng.integers(0, 3)
            bc_pause = [never, random_pause(rng, 0.3), bursty_pause(rng, 6)][kind]
            nz_pause = [never, random_pause(rng, 0.5), bursty_pause(rng, 4)][rng.integers(0, 3)]
        else:
            bc_pause, nz_pause = never, never
        run = await bfm.run_layer(cfg, list(zip(bj.tolist(), ba.tolist(), strict=True)),
                                  bc_pause, nz_pause)
        assert bfm.error_code() == 0, f"{label} layer {li}: error code {bfm.error_code():#x}"
        # local non-zeros offered to the LNZD tree: this PE's non-zero inputs, in order
        mine = [(j, int(a[j])) for j in range(k, d.in_len, hw.num_pe) if a[j] != 0]
        assert run.nonzeros == mine, (
            f"{label} layer {li}: local non-zero stream differs: got {run.nonzeros[:8]}..., "
            f"expected {mine[:8]}... ({len(run.nonzeros)} vs {len(mine)})")
        rows = len(range(k, d.out_len, hw.num_pe))
        got = await bfm.read_acts(rows, MEM_ACT_SRC)    # after the swap, the outputs are the source
        want = golden[li][k::hw.num_pe].tolist()
        if got != want:
            bad = [r for r in range(rows) if got[r] != want[r]]
            r = bad[0]
            raise AssertionError(
                f"{label} layer {li}: {len(bad)} of {rows} outputs differ; first: local row {r} "
                f"(global row {r * hw.num_pe + k}) got {got[r]}, expected {want[r]}")
        cycles.append(run.cycles)
        a = golden[li]
    return cycles


async def setup(dut) -> tuple[PeBfm, HwParams, dict]:
    p = bench_params()
    bfm = PeBfm(dut, w_w=16, act_w=16, pe_id=p["pe_id"])
    bfm.init_pins()
    await start_clock_and_reset(dut)
    await bfm.wait_ready()
    return bfm, hw_from(p), p


@cocotb.test()
async def random_layers(dut) -> None:
    """Random single layers: shapes, densities (weights and inputs), codebooks, formats, ReLU, bias."""
    bfm, hw, p = await setup(dut)
    rng = make_rng("random_layers")
    n = hw.num_pe
    max_rows = min(hw.act_depth, 24)
    for t in range(p["layers"]):
        out_len = int(rng.integers(1, max_rows * n + 1))
        in_len = int(rng.integers(1, max_rows * n + 1))
        desc = random_desc(rng, hw, in_len, out_len, has_bias=bool(rng.random() < 0.7),
                           relu=bool(rng.random() < 0.5), extreme=bool(rng.random() < 0.15))
        density = float(rng.choice([0.05, 0.2, 0.5, 1.0]))
        codes = random_codes(rng, out_len, desc.cols, density)
        while not fits(codes, hw):                  # small memories: thin the layer until it fits
            density /= 2
            codes = random_codes(rng, out_len, desc.cols, density)
        act = random_input(rng, in_len, float(rng.choice([0.0, 0.3, 0.7, 1.0])), hw.act_width,
                           extreme=bool(rng.random() < 0.15))
        await run_network_on_pe(dut, bfm, hw, [QuantLayer(codes, desc)], act, rng, f"layer {t}",
                                backdoor=t % 3 == 2)
    cocotb.log.info("%d random layers bit-exact", p["layers"])


@cocotb.test()
async def paper_example(dut) -> None:
    """The reference's 16x8 example on 4 PEs (PE0's rows 0, 4, 8, 12), all activations non-zero."""
    bfm, hw, p = await setup(dut)
    assert hw.num_pe == 4 and p["pe_id"] == 0, "the paper example is PE0 of 4 PEs"
    rng = make_rng("paper_example")
    nz = {0: [0, 2, 4, 5, 6], 4: [1, 4], 8: [0, 7], 12: [0, 2, 5, 7]}
    codes = random_codes(rng, 16, 8, 0.5)       # other PEs' rows are free
    for r in (0, 4, 8, 12):
        codes[r] = 0
        codes[r, nz[r]] = rng.integers(1, 16, size=len(nz[r]))
    desc = random_desc(rng, hw, 8, 16, has_bias=False, relu=False)
    image = place_network([QuantLayer(codes, desc)], hw)
    assert image.ptr[0].tolist() == [0, 3, 4, 6, 6, 8, 10, 11, 13], "models/ encoding changed"
    act = random_input(rng, 8, 1.0, 16)
    act[act == 0] = 1
    await run_network_on_pe(dut, bfm, hw, [QuantLayer(codes, desc)], act, rng, "paper example")


@cocotb.test()
async def directed_columns(dut) -> None:
    """Padding runs of exactly 15, 16, 17 and 40 zeros in this PE's rows, empty and consecutive
    empty columns (first, middle, last), an all-zero input, and the local vectors at full depth."""
    bfm, hw, p = await setup(dut)
    rng = make_rng("directed_columns")
    n, k = hw.num_pe, p["pe_id"]
    rows = min(hw.act_depth, 48)                 # local rows per PE (runs up to 40 need >= 42)
    out_len = rows * n
    gaps = [g for g in (15, 16, 17, 40) if g + 2 <= rows]
    in_len = 3 * len(gaps) + 6
    codes = np.zeros((out_len, in_len), np.uint8)
    for c, gap in enumerate(gaps):               # entries at local rows 0 and gap+1 -> run of gap
        col = 3 * c + 1                          # columns 0, 3c+2, 3c+3 stay empty
        for local in (0, gap + 1):
            codes[local * n + k, col] = rng.integers(1, 16)
        other = [i for i in range(out_len) if i % n != k]
        if other:
            codes[rng.choice(other, size=min(5, len(other)), replace=False), col] = 7
    codes[:, -1] = 0                             # last column empty
    desc = random_desc(rng, hw, in_len, out_len, has_bias=False, relu=False)
    act = random_input(rng, in_len, 1.0, 16)
    act[act == 0] = 3
    await run_network_on_pe(dut, bfm, hw, [QuantLayer(codes, desc)], act, rng, "padding runs")
    # all-zero input: nothing is broadcast but the bias; outputs are the bias terms
    desc = random_desc(rng, hw, in_len, out_len, has_bias=True, relu=True)
    codes = random_codes(rng, out_len, desc.cols, 0.5)
    await run_network_on_pe(dut, bfm, hw, [QuantLayer(codes, desc)], np.zeros(in_len, np.int64),
                            rng, "all-zero input")
    # full-depth local vectors (the longest a PE holds), dense input, sparse weights
    full = min(hw.act_depth * n, 4096)           # 4096: keeps the 64-PE run short
    desc = random_desc(rng, hw, full, full, has_bias=True, relu=True)
    codes = random_codes(rng, full, desc.cols, 0.02 if full > 2048 else 0.1)
    act = random_input(rng, full, 0.5, 16)
    await run_network_on_pe(dut, bfm, hw, [QuantLayer(codes, desc)], act, rng, "full depth")


@cocotb.test()
async def multilayer_ping_pong(dut) -> None:
    """2- and 3-layer networks on one PE (NUM_PE = 1): the output buffer becomes the next input."""
    bfm, hw, p = await setup(dut)
    assert hw.num_pe == 1, "ping-pong across layers on one PE needs NUM_PE=1"
    rng = make_rng("multilayer_ping_pong")
    for t in range(p["networks"]):
        sizes = [int(rng.integers(1, min(hw.act_depth, 40) + 1)) for _ in range(int(rng.integers(3, 5)))]
        layers = []
        fa = int(rng.integers(0, 15))
        for li in range(len(sizes) - 1):
            desc = random_desc(rng, hw, sizes[li], sizes[li + 1], has_bias=bool(rng.random() < 0.5),
                               relu=li < len(sizes) - 2 or bool(rng.random() < 0.5))
            # chain the formats: this layer's FA is the previous layer's FO
            shift = int(rng.integers(0, 12))
            fw = fa + int(rng.integers(0, 10))
            fo = fa + fw - hw.guard_bits - shift
            if desc.has_bias and not 0 <= fa <= 14:
                desc = LayerDesc(**{**desc.__dict__, "has_bias": False})
            desc = LayerDesc(**{**desc.__dict__, "fa": fa, "fw": fw, "fo": fo, "shift": shift})
            layers.append(QuantLayer(random_codes(rng, desc.out_len, desc.cols, 0.4), desc))
            fa = fo
        act = random_input(rng, sizes[0], 0.6, 16)
        await run_network_on_pe(dut, bfm, hw, layers, act, rng, f"network {t}")


# ----------------------------------------------------------------------------- pytest side

CONFIGS = {
    # name: NUM_PE, PE_ID, FIFO, ACT_DEPTH, SPM_WORDS, PTR_DEPTH, random layers
    "n1_f8": (1, 0, 8, 64, 512, 1024, 50),
    "n4_p0_f2": (4, 0, 2, 48, 256, 512, 50),
    "n3_p2_f1": (3, 2, 1, 48, 256, 512, 40),
    "n5_p4_f3": (5, 4, 3, 48, 256, 512, 40),
    "n7_p3_f16": (7, 3, 16, 48, 256, 512, 30),
    "n64_p63_default": (64, 63, 8, 1024, 16384, 32768, 6),
    # the paper's PE: one MAC lane (LANES = 1), so FLAGS.DUAL has no effect (layers drawn with it on)
    "n4_p1_f4_lanes1": (4, 1, 4, 48, 256, 512, 40, 1),
}
COMMON_TESTS = ["random_layers", "directed_columns"]
EXTRA_TESTS = {"n1_f8": ["multilayer_ping_pong"], "n4_p0_f2": ["paper_example"]}


@pytest.mark.parametrize("config", list(CONFIGS))
def test_eie_pe(bench, config: str) -> None:
    n, k, fifo, act_depth, spm_words, ptr_depth, layers, *rest = CONFIGS[config]
    lanes = rest[0] if rest else 2
    ptr_w = (spm_words * 8).bit_length()          # the end pointer of a full memory fits
    bench(
        toplevel="eie_pe",
        test_module="verif.units.test_eie_pe",
        testcase=COMMON_TESTS + EXTRA_TESTS.get(config, []),
        parameters={"NUM_PE": n, "FIFO_DEPTH": fifo, "ACT_DEPTH": act_depth,
                    "SPM_WORDS": spm_words, "PTR_DEPTH": ptr_depth, "PTR_W": ptr_w, "LANES": lanes},
        bench_env={"num_pe": n, "pe_id": k, "fifo_depth": fifo, "act_depth": act_depth,
                   "spm_words": spm_words, "ptr_depth": ptr_depth, "ptr_w": ptr_w,
                   "layers": layers, "networks": 12},
    )
