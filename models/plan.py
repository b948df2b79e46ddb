"""Execution plan: a compressed network cut into passes that fit the chip (docs/network-format.md).

A *pass* is what one load of the PE memories holds: either consecutive whole layers (run back to
back on the chip, the hidden activations staying in the PEs' ping-pong buffers), or one row tile of a
layer too big for the sparse-matrix (or output activation) memory. Between passes the host reads the
last layer's outputs from the output stream and loads them as the next pass's input activations;
the formats need no conversion (layer l's FO is layer l+1's FA, docs/numerics.md).

A row tile [r0, r1) is the layer restricted to those output rows: same input, same descriptor fields
(formats, codebook, ReLU), out_len = r1 - r0. Every row's accumulation is independent of the other
rows, so the tiles' outputs stitched in row order equal the whole layer's outputs bit for bit
(tested in models/tests/test_plan.py). The paper's own answer to a model larger than on-chip memory
is more PEs (section VI); `pes_needed` says how many would hold each tiled layer in one pass.

With a batch, every pass runs all inputs before the next pass is loaded (weights loaded once per
pass); `Pass.load_words` counts the words each load sends (sparse-matrix + pointer words, over all
PEs), the input activations of every run are counted separately (`act_words`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from models.balance import DENSITY_INPUTS, BalanceReport, balance_plan, unpermute
from models.compress import QuantizedNetwork, QuantLayer, compress_network
from models.dead import DeadRows, drop_dead_rows
from models.encode import NetworkImage, extract_layer, place_network
from models.errors import CapacityError, EieInputError
from models.golden import run_encoded
from models.hwparams import HwParams
from models.network import Network
from models.numerics import quantize


@dataclass(frozen=True)
class Pass:
    """One load of the chip. ``layers``: QuantLayers run back to back; ``first_layer``: the network
    index of layers[0]; ``rows``: the row tile [r0, r1) of that layer when the pass is a tile (then
    len(layers) == 1), else None; ``image``: the placed memories."""

    index: int
    first_layer: int
    layers: tuple[QuantLayer, ...]
    rows: tuple[int, int] | None
    image: NetworkImage

    @property
    def last_layer(self) -> int:
        return self.first_layer + len(self.layers) - 1

    @property
    def load_words(self) -> int:
        """Words the load stream carries for this pass's weights: every PE's sparse-matrix words and
        pointers (one 64-bit beat each), input activations excluded."""
        return int(self.image.spm.shape[0] * (self.image.spm.shape[1] + self.image.ptr.shape[1]))

    @property
    def act_words(self) -> int:
        """Input activation words per run (one per input value)."""
        return int(self.layers[0].desc.in_len)

    def describe(self) -> str:
        what = (f"layer {self.first_layer} rows {self.rows[0]}..{self.rows[1] - 1}" if self.rows else
                f"layer{'s' if len(self.layers) > 1 else ''} {self.first_layer}"
                + (f"..{self.last_layer}" if len(self.layers) > 1 else ""))
        return f"pass {self.index}: {what}, {self.load_words:,} load words"


@dataclass(frozen=True)
class ExecutionPlan:
    """``passes`` in execution order; ``pes_needed``: for each layer that had to be tiled (network
    index), the smallest PE count N' >= hw.num_pe that holds it in one pass; ``row_perms`` and
    ``balance``: balanced rows (models.balance.balance_plan), whose outputs `outputs` un-permutes;
    ``col_perm``: balanced columns, layer 0's input order as run (`feed` puts inputs in it);
    ``dead``: the dead rows removed before planning (models/dead.py; None: kept), so that `network`
    (and the hidden layers' outputs) may have fewer rows than the compressed network:
    `network_rows` maps them back."""

    network: QuantizedNetwork
    hw: HwParams
    passes: tuple[Pass, ...]
    pes_needed: dict[int, int]
    # balanced rows (models/balance.py): row r of layer l as run is row row_perms[l][r] of the
    # compressed layer (empty: the paper's interleave); `network` and `passes` hold the permuted layers
    row_perms: tuple[np.ndarray, ...] = ()
    balance: BalanceReport | None = None
    # balanced columns (models/balance.py, order_columns): input col_perm[j] is broadcast as layer 0's
    # column j (None: the input order)
    col_perm: np.ndarray | None = None
    # dead rows removed (models/dead.py): layer l of `network`, before the row permutation, holds rows
    # dead.kept[l] of the compressed layer (None: nothing removed, --keep-dead-rows)
    dead: DeadRows | None = None

    def network_rows(self, layer: int) -> np.ndarray:
        """int64 [rows of `layer` as run]: row r of the layer as run is row network_rows(layer)[r] of
        the compressed network's layer (dead rows removed and balanced rows composed; the identity
        for the paper's interleave with every row kept). The last layer is always a permutation."""
        rows = np.arange(self.network.layers[layer].desc.out_len, dtype=np.int64)
        if self.row_perms:
            rows = np.asarray(self.row_perms[layer], np.int64)
        if self.dead is not None:
            rows = self.dead.kept[layer][rows]
        return rows

    def feed(self, acts: np.ndarray) -> np.ndarray:
        """Layer-0 activations [..., in_0] (input order) in the order the plan runs them: the host
        writes these into the PEs (identity without balanced columns)."""
        a = np.asarray(acts)
        return a[..., self.col_perm] if self.col_perm is not None else a

    @property
    def load_words(self) -> int:
        return sum(p.load_words for p in self.passes)

    def run_golden(self, acts: np.ndarray) -> GoldenRun:
        """Bit-exact run of every pass for a batch of layer-0 activations ``acts`` (int [B, in], in
        the order the plan runs them: `feed`),
        passes in order, each on every input (the tiles of a layer stitched before the next layer).
        Raises EieInputError on activations out of range."""
        acts = np.atleast_2d(np.asarray(acts, np.int64))
        pass_inputs: list[list[np.ndarray]] = []
        pass_outputs: list[list[list[np.ndarray]]] = []
        cur = list(acts)                       # input of the next whole layer, per input
        tiles: list[list[np.ndarray]] = []      # tile outputs of the layer being tiled
        for k, p in enumerate(self.passes):
            encs = [extract_layer(p.image, i) for i in range(len(p.layers))]
            outs = []
            for a in cur:
                per_layer = []
                for enc, pl in zip(encs, p.image.layers, strict=True):
                    a = run_encoded(enc, pl.desc, a, self.hw)
                    per_layer.append(a)
                outs.append(per_layer)
            pass_inputs.append(cur)
            pass_outputs.append(outs)
            last = [o[-1] for o in outs]
            if p.rows is None:
                cur = last
                continue
            tiles.append(last)
            nxt = self.passes[k + 1] if k + 1 < len(self.passes) else None
            if nxt is None or nxt.first_layer != p.first_layer:    # the layer's last tile: stitch
                cur = [np.concatenate([t[b] for t in tiles]) for b in range(len(acts))]
                tiles = []
        return GoldenRun(pass_inputs, pass_outputs, self.outputs([[o[-1] for o in outs] for outs in pass_outputs]))

    def outputs(self, results: list[list[np.ndarray]]) -> np.ndarray:
        """The network outputs [B, out_L] from each pass's last-layer outputs results[p][b] (the
        golden model's or the RTL's output stream): the last layer's pass, or its tiles stitched
        in row order, back in the compressed network's row order when the rows are balanced. Raises
        EieInputError when the pieces do not add up to the output length."""
        last = self.network.layers[-1]
        n_last = len(self.network.layers) - 1
        parts = [r for p, r in zip(self.passes, results, strict=True) if p.last_layer == n_last]
        out = np.stack([np.concatenate([np.asarray(part[b], np.int64) for part in parts])
                        for b in range(len(parts[0]))])
        if out.shape[1] != last.desc.out_len:
            raise EieInputError(f"plan: stitched {out.shape[1]} outputs, the last layer has {last.desc.out_len}")
        return unpermute(out, self.row_perms[-1]) if self.row_perms else out


@dataclass(frozen=True)
class GoldenRun:
    """The model's run of a plan on a batch: ``inputs[p][b]`` the int input activations of pass p for
    input b; ``layer_outputs[p][b][i]`` the int outputs of the pass's layer i; ``outputs`` int64
    [B, out_L] the network outputs (stitched)."""

    inputs: list[list[np.ndarray]]
    layer_outputs: list[list[list[np.ndarray]]]
    outputs: np.ndarray


def tile_layer(ql: QuantLayer, r0: int, r1: int) -> QuantLayer:
    """Rows [r0, r1) of a layer as a layer of its own (same descriptor fields, out_len r1 - r0)."""
    if not 0 <= r0 < r1 <= ql.desc.out_len:
        raise EieInputError(f"tile_layer: rows {r0}..{r1} outside 0..{ql.desc.out_len}")
    return QuantLayer(np.ascontiguousarray(ql.codes[r0:r1]), replace(ql.desc, out_len=r1 - r0))


def _fits(layers: Sequence[QuantLayer], hw: HwParams, first: int = 0) -> NetworkImage | None:
    """The placed image of `layers` (network layers first.. on), or None when they do not fit."""
    try:
        return place_network(list(layers), hw)
    except CapacityError as exc:
        if exc.memory == "act" and "input vector" in str(exc):
            msg = str(exc)
            if exc.layer is not None and first:      # name the layer by its place in the network
                msg = msg.replace(f"layer {exc.layer}:", f"layer {exc.layer + first}:", 1)
            raise EieInputError(f"{msg}: an input longer than the activation memories cannot be cut into "
                                "passes (tiles split rows, not columns)") from None
        return None


def _tiles(ql: QuantLayer, hw: HwParams, index: int, force_rows: int | None) -> list[tuple[int, int, NetworkImage]]:
    """Greedy row tiles of one layer, each as many rows (a multiple of num_pe) as fit."""
    n, rows = hw.num_pe, ql.desc.out_len
    if force_rows is not None:
        out = []
        for r0 in range(0, rows, force_rows):
            r1 = min(rows, r0 + force_rows)
            image = _fits([tile_layer(ql, r0, r1)], hw, index)
            if image is None:
                raise EieInputError(f"layer {index}: a forced tile of {force_rows} rows does not fit")
            out.append((r0, r1, image))
        return out
    # entries per row (+1 per column a row's PE must pad is ignored here: the fit check is exact)
    per_row = np.count_nonzero(ql.codes, axis=1).astype(np.int64)
    budget = hw.spm_entries * n
    out, r0 = [], 0
    while r0 < rows:
        cum = np.cumsum(per_row[r0:])
        guess = int(np.searchsorted(cum, 0.97 * budget, side="right"))
        # whole multiples of N rows, unless the rest of the layer fits (no pass for a few left-over rows)
        guess = rows - r0 if guess >= rows - r0 else max(n, guess // n * n)
        guess = min(guess, hw.act_depth * n)
        r1 = r0 + guess
        while True:
            image = _fits([tile_layer(ql, r0, r1)], hw, index)
            if image is not None:
                break
            if r1 - r0 <= 1:
                raise EieInputError(f"layer {index}: row {r0} alone does not fit one PE's sparse-matrix memory "
                                    f"({hw.spm_entries} entries)")
            step = max(1, (r1 - r0) // 10)
            r1 = r0 + max(1, ((r1 - r0 - step) // n) * n or (r1 - r0 - step))
        out.append((r0, r1, image))
        r0 = r1
    return out


def pes_needed(ql: QuantLayer, hw: HwParams, limit: int = 4096) -> int:
    """The smallest PE count N' >= hw.num_pe for which the layer fits one pass (other parameters
    unchanged); `limit` + 1 when even `limit` PEs do not hold it."""
    from models.encode import encode_layer

    def fits(n: int) -> bool:
        h = replace(hw, num_pe=n)
        enc = encode_layer(ql.codes, n)
        return (int(enc.entries.max()) <= h.spm_entries and -(-ql.desc.out_len // n) <= h.act_depth
                and -(-ql.desc.in_len // n) <= h.act_depth)

    lo = hw.num_pe
    if fits(lo):
        return lo
    hi = lo
    while not fits(hi):
        if hi >= limit:
            return limit + 1
        lo, hi = hi, min(limit, hi * 2)
    while hi - lo > 1:          # fits(hi), not fits(lo)
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if fits(mid) else (mid, hi)
    return hi


def plan_network(net: QuantizedNetwork, hw: HwParams | None = None, max_layers: int = 8, *,
                 force_tile_rows: dict[int, int] | None = None) -> ExecutionPlan:
    """Cut ``net`` into passes: one pass when it all fits (and has <= max_layers layers), else
    greedy groups of consecutive whole layers, and row tiles for a layer that does not fit alone.

    ``force_tile_rows`` {layer: rows} tiles those layers even when they fit (tests). Raises
    EieInputError when an input vector exceeds the activation memory (rows can be tiled, columns
    cannot), a single row does not fit, or a forced layer does not exist."""
    hw = hw or net.hw
    layers = list(net.layers)
    force = dict(force_tile_rows or {})
    bad = sorted(k for k in force if not 0 <= k < len(layers))
    if bad:
        raise EieInputError(f"tile rows (--tile-rows): layer {bad[0]} does not exist (the network has "
                            f"{len(layers)} layer{'s' if len(layers) > 1 else ''}, 0..{len(layers) - 1})")
    passes: list[Pass] = []
    needed: dict[int, int] = {}
    if not force and len(layers) <= max_layers:
        image = _fits(layers, hw)
        if image is not None:
            return ExecutionPlan(net, hw, (Pass(0, 0, tuple(layers), None, image),), {})
    i = 0
    while i < len(layers):
        image = None if i in force else _fits(layers[i : i + 1], hw, i)
        if image is None:
            for r0, r1, tile_image in _tiles(layers[i], hw, i, force.get(i)):
                passes.append(Pass(len(passes), i, (tile_layer(layers[i], r0, r1),), (r0, r1), tile_image))
            if i not in force:
                needed[i] = pes_needed(layers[i], hw)
            i += 1
            continue
        j = i + 1
        while j < len(layers) and j - i < max_layers and j not in force:
            bigger = _fits(layers[i : j + 1], hw, i)
            if bigger is None:
                break
            image, j = bigger, j + 1
        passes.append(Pass(len(passes), i, tuple(layers[i:j]), None, image))
        i = j
    return ExecutionPlan(net, hw, tuple(passes), needed)



def _plan_layer_cycles(plan: ExecutionPlan, golden: GoldenRun) -> list[list]:
    """Per pass, per layer: rtl_layer_cycles of the first input of `golden`."""
    from models.cycles import rtl_layer_cycles

    out = []
    for p in plan.passes:
        acts = [golden.inputs[p.index][0], *golden.layer_outputs[p.index][0][:-1]]
        out.append([rtl_layer_cycles(pl, a, plan.hw) for pl, a in zip(p.image.layers, acts, strict=True)])
    return out


@dataclass(frozen=True)
class PreparedRun:
    """Everything the model knows about a run of a network on a batch (what `make run` and its
    test share): ``net`` the compressed network, ``plan`` its passes, ``acts`` int64 [B, in_0] the
    quantized inputs in the order the RTL is fed (``plan.feed``: permuted with balanced columns),
    ``input_saturated`` how many input values were saturated to the activation
    range (reported, never silent), ``golden`` the bit-exact run. With balanced rows ``plan`` runs
    the permuted layers (``plan.balance`` says which were chosen and why) and without the dead rows
    (``plan.dead``) while ``net`` keeps every row in the compressed order (``plan.network_rows``
    maps the rows as run to it); ``golden.outputs`` is in the original order either way."""

    network: Network
    net: QuantizedNetwork
    plan: ExecutionPlan
    acts: np.ndarray
    input_saturated: int
    golden: GoldenRun
    # the paper's interleave in input order (dead rows as in `plan`) and its golden run on `input_acts`,
    # kept when balancing changed the plan (None otherwise): what `interleave_layer_cycles` measures
    interleave: tuple[ExecutionPlan, GoldenRun] | None = None

    @property
    def input_acts(self) -> np.ndarray:
        """``acts`` back in input order (int64 [B, in_0]): the quantized network inputs as given."""
        return self.acts if self.plan.col_perm is None else unpermute(self.acts, self.plan.col_perm)

    def layer_cycles(self) -> list[list]:
        """Per pass, per layer: `models.cycles.rtl_layer_cycles` (RtlCycleReport) of the first input
        of the batch (the cycles the RTL takes for that input's non-zero pattern)."""
        return _plan_layer_cycles(self.plan, self.golden)

    def interleave_layer_cycles(self) -> list[list] | None:
        """`layer_cycles` of the paper's interleave in input order (the plan before balancing) on the
        same first input, None when balancing left the plan unchanged: the exact model's measure of
        what balancing gained (the balancer itself scores with its faster queue model)."""
        return None if self.interleave is None else _plan_layer_cycles(*self.interleave)

    def predicted_run_cycles(self, layer_cycles: list[list] | None = None) -> int:
        """Cycles of the whole run as `make run` simulates it, predicted: per pass, every layer's
        cycles (`layer_cycles()`, computed unless given) plus the output stream (one beat per
        output of the pass's last layer), times the batch. Other inputs' patterns and the load of
        each input's activations make the real count differ a little (used for the progress ETA
        and the choice of simulator model, not judged)."""
        reports = self.layer_cycles() if layer_cycles is None else layer_cycles
        per_input = sum(r.cycles for pass_reports in reports for r in pass_reports)
        per_input += sum(int(p.image.layers[-1].desc.out_len) for p in self.plan.passes)
        return per_input * int(self.acts.shape[0])


def prepare_run(network: Network, hw: HwParams, *, relu: bool | None = None, max_layers: int = 8,
                strict: bool = False, force_tile_rows: dict[int, int] | None = None, balance: bool = True,
                pad_skip: bool = True, drop_dead: bool = True, dual: bool = True, **compress_options) -> PreparedRun:
    """Compress ``network`` (formats from its `calibration` inputs, else its inputs; each layer's
    own ReLU unless ``relu`` overrides all: the returned `network` then carries the override), plan
    its passes for ``hw`` and run the golden model on every input. ``strict`` and
    ``compress_options`` (density, codebook, ...) go to compress_network, whose per-layer error
    report is ``net.report`` (it warns with EieAccuracyWarning above the bounds of docs/numerics.md;
    strict raises instead). ``balance``: permute each layer's rows (per pass or row tile) to even
    out the PEs' work where the cycle model predicts fewer cycles on the calibration inputs
    (models/balance.py); kept only when the golden outputs, un-permuted, equal the interleave's on
    every input. False: the paper's interleave. ``pad_skip``: every layer's FLAGS.PAD_SKIP
    (LayerDesc.pad_skip, set before planning and balancing: the balancer scores beats, the cycle
    models and the programmed descriptors follow it; False: one cycle per entry, as the paper).
    ``dual``: every layer's FLAGS.DUAL (LayerDesc.dual: two entries of a column per cycle where their
    rows differ in parity, on a PE with two MAC lanes, hw.mac_lanes = 2; False: one entry per cycle).
    ``drop_dead``: remove the hidden layers' dead rows before planning (models/dead.py: outputs no
    weight of the next layer reads; exact, the network's outputs are unchanged; ``plan.dead`` says
    which); False keeps them, as the paper.
    Raises EieInputError (bad input, nothing fits, strict bounds)."""
    network = network.with_relu(relu)
    flags = list(network.relu)
    calibration = network.calibration if network.calibration is not None else network.inputs
    net = compress_network(list(network.layers), calibration=calibration, relu=flags, hw=hw, strict=strict,
                           **compress_options)
    net = replace(net, layers=tuple(replace(ql, desc=replace(ql.desc, pad_skip=bool(pad_skip), dual=bool(dual)))
                                    for ql in net.layers))
    live, dead = drop_dead_rows(net) if drop_dead else (net, None)
    plan = plan_network(live, hw, max_layers, force_tile_rows=force_tile_rows)
    if dead is not None:
        plan = replace(plan, dead=dead)
    # the one input quantization (numerics.quantize), which also counts the saturated values
    acts_arr, saturated = quantize(network.inputs, net.layers[0].desc.fa, hw.act_width, what="network input",
                                   allow_saturation=True)
    golden = plan.run_golden(acts_arr)
    interleave = None
    if balance:
        balanced = balance_plan(plan, net.quantize_input(np.atleast_2d(calibration)[:DENSITY_INPUTS],
                                                         allow_saturation=True))
        if balanced.row_perms or balanced.col_perm is not None:
            fed = balanced.feed(acts_arr)
            run = balanced.run_golden(fed)
            if np.array_equal(run.outputs, golden.outputs):
                interleave = (plan, golden)
                plan, golden, acts_arr = balanced, run, fed
            else:   # a saturating accumulator made the next layers' new input order matter
                plan = replace(plan, balance=replace(balanced.balance, used=False, reason=(
                    "the balanced order changes a saturating accumulator's result"),
                    cycles_balanced=balanced.balance.cycles_interleave, columns=None))
        else:
            plan = balanced
    return PreparedRun(network, net, plan, acts_arr, saturated, golden, interleave)
