"""Scoreboard: predicts every layer's outputs with models/ and checks, bit for bit,

- every write-back of every PE (hidden layers included), keyed by (layer, output index): a wrong
  value, a write to a row that does not exist, and a row written twice are errors;
- every output-stream beat, keyed by output index: wrong value, wrong order, wrong `last`;
- at the end of each run: every output of every layer was written exactly once and streamed
  exactly once, and the run ended with DONE and no error.

- the counters: BCAST_COUNT equals the model's broadcast columns; some PE was busy when some
  broadcast column had entries, and none when nothing was broadcast (an empty column may cost a
  PE a busy cycle or two).

A reset in the middle of a run (RunResult.aborted) ends that run's checks without the
completeness check. A run the progress watchdog declared hung (RunResult.hung) is an error, unless
the item expected it (`expect_hang`: then the watchdog's message must name the last activity). The
first mismatch (earliest in simulation time) is written to mismatch.json in the run folder with the
`make waves` command that reproduces it. At the end of the test the scoreboard writes what it saw to `scoreboard.json`
(per run: values, write-backs per layer and output beats checked, errors, first mismatch, the
counters read at the end) and the streamed outputs to `scoreboard_outputs.npz` (`run<i>_raw`: the
output stream's values in beat order, signed); `make run` builds its report from these files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from pyuvm import ConfigDB, uvm_component, uvm_subscriber

from models.golden import broadcast_columns
from verif.agents.network_agent import NetworkItem, RunResult
from verif.agents.out_agent import OutBeat
from verif.env.watchdog import Activity
from verif.program import to_signed
from verif.tb.common import bench_params
from verif.tb.top_monitors import Writeback

SCOREBOARD_FILE = "scoreboard.json"
OUTPUTS_FILE = "scoreboard_outputs.npz"


def waves_command(at_ns: float | None = None) -> str:
    p = bench_params()
    cmd = f"make waves TEST={p.get('test', '?')} SEED={p.get('seed', '?')} SIM={p.get('sim', '?')}"
    cmd += f" MUTANT={p['mutant']}" if p.get("mutant") else ""
    return cmd + (f" AT={at_ns:.0f}" if at_ns is not None else "")


class _Run:
    def __init__(self, item: NetworkItem, index: int, errors_before: int) -> None:
        self.item, self.index = item, index
        self.written: dict[tuple[int, int], int] = {}
        self.streamed: list[int] = []
        self.streamed_data: list[int] = []          # signed values, in beat order
        n_layers = len(item.golden)
        self.wb_checked = [0] * n_layers            # write-backs compared, per layer
        self.beats_checked = 0
        self.errors_before = errors_before
        self.first_error: str | None = None
        self.record: dict = {}


class EieScoreboard(uvm_component):
    MAX_LOGGED = 20     # a broken datapath fails thousands of values: log the first ones only

    def build_phase(self) -> None:
        self.item_export = uvm_subscriber.uvm_AnalysisImp("item_export", self, self._on_item)
        self.wb_export = uvm_subscriber.uvm_AnalysisImp("wb_export", self, self._on_writeback)
        self.out_export = uvm_subscriber.uvm_AnalysisImp("out_export", self, self._on_out)
        self.result_export = uvm_subscriber.uvm_AnalysisImp("result_export", self, self._on_result)
        self.run: _Run | None = None
        self.runs_checked = 0
        self.runs_aborted = 0
        self.values_checked = 0
        self.errors: list[str] = []
        self.first_mismatch: dict | None = None
        self.records: list[dict] = []
        self.outputs: dict[str, np.ndarray] = {}

    def connect_phase(self) -> None:
        self.activity: Activity = ConfigDB().get(self, "", "ACTIVITY")

    # ------------------------------------------------------------------ helpers
    def _error(self, text: str, time_ns: float | None = None, **where) -> None:
        run = f"run {self.run.index} ({self.run.item.label})" if self.run else "no run"
        msg = f"{run}: {text}" + (f" at {time_ns:.0f} ns" if time_ns is not None else "")
        self.errors.append(msg)
        if self.run is not None and self.run.first_error is None:
            self.run.first_error = msg
        if len(self.errors) <= self.MAX_LOGGED:
            self.logger.error(msg)
        elif len(self.errors) == self.MAX_LOGGED + 1:
            self.logger.error("more than %d errors: counting only (all are summed up at the end)", self.MAX_LOGGED)
        # the first mismatch in simulation time (write-backs are read in bulk from the design's
        # recorder, so an earlier write-back error can be judged after a later output beat)
        first = self.first_mismatch
        if first is None or (time_ns is not None and (first["time_ns"] is None or time_ns < first["time_ns"])):
            self.first_mismatch = {"message": msg, "time_ns": time_ns, **where,
                                   "reproduce": waves_command(time_ns)}
            Path(os.getcwd(), "mismatch.json").write_text(json.dumps(self.first_mismatch, indent=2) + "\n")
            self.logger.error("%s mismatch; reproduce with waves: %s", "first" if first is None else "an earlier",
                              self.first_mismatch["reproduce"])

    # ------------------------------------------------------------------ analysis inputs
    def _on_item(self, item: NetworkItem) -> None:
        if self.run is not None:
            self._error("a new run started before the previous one ended")
        self.run = _Run(item, len(self.records), len(self.errors))

    def _on_writeback(self, wb: Writeback) -> None:
        self.activity.writebacks += 1
        index = wb.row * (self.run.item.hw.num_pe if self.run else 1) + wb.pe
        self.activity.note("write-back", f"layer {wb.layer}, PE {wb.pe}, local row {wb.row} = output {index}",
                           wb.time_ns)
        if self.run is None:
            self._error(f"PE {wb.pe} wrote back row {wb.row} outside any run", wb.time_ns, pe=wb.pe)
            return
        item, hw = self.run.item, self.run.item.hw
        if item.expect_error:           # memory broken on purpose: outputs are not predicted
            return
        if wb.layer >= len(item.golden):
            self._error(f"PE {wb.pe} wrote back during layer {wb.layer} of a {len(item.golden)}-layer network",
                        wb.time_ns, pe=wb.pe, layer=wb.layer)
            return
        want = item.golden[wb.layer]
        index = wb.row * hw.num_pe + wb.pe
        where = {"layer": wb.layer, "index": index, "pe": wb.pe}
        if index >= want.size:
            self._error(f"layer {wb.layer}: PE {wb.pe} wrote local row {wb.row} = output {index}, "
                        f"past OUT_LEN {want.size}", wb.time_ns, **where)
            return
        key = (wb.layer, index)
        self.run.written[key] = self.run.written.get(key, 0) + 1
        if self.run.written[key] > 1:
            self._error(f"layer {wb.layer}: output {index} (PE {wb.pe}) written twice", wb.time_ns, **where)
        got = to_signed(wb.data, hw.act_width)
        self.values_checked += 1
        self.run.wb_checked[wb.layer] += 1
        if got != int(want[index]):
            self._error(f"layer {wb.layer}: output {index} (PE {wb.pe}, local row {wb.row}) written {got}, "
                        f"expected {int(want[index])}", wb.time_ns, expected=int(want[index]), actual=got, **where)

    def _on_out(self, beat: OutBeat) -> None:
        self.activity.beats += 1
        self.activity.note("output beat", f"index {beat.idx}", beat.time_ns)
        if self.run is None:
            self._error(f"output beat {beat.idx} outside any run", beat.time_ns)
            return
        item, hw = self.run.item, self.run.item.hw
        if item.expect_error:
            self._error(f"output beat {beat.idx} in a run that must end with error {item.expect_error}", beat.time_ns)
            return
        want = item.golden[-1]
        layer = len(item.golden) - 1
        n_seen = len(self.run.streamed)
        where = {"layer": layer, "index": beat.idx, "pe": beat.idx % hw.num_pe}
        self.run.streamed.append(beat.idx)
        self.run.streamed_data.append(to_signed(beat.data, hw.act_width))
        if beat.idx != n_seen:
            self._error(f"output stream: beat {n_seen} has index {beat.idx} (expected {n_seen}: in order, "
                        f"each once)", beat.time_ns, **where)
            return
        if n_seen >= want.size:
            self._error(f"output stream: beat {n_seen} past OUT_LEN {want.size}", beat.time_ns, **where)
            return
        got = to_signed(beat.data, hw.act_width)
        self.values_checked += 1
        self.run.beats_checked += 1
        if got != int(want[beat.idx]):
            self._error(f"output stream: output {beat.idx} (layer {layer}, PE {beat.idx % hw.num_pe}) is {got}, "
                        f"expected {int(want[beat.idx])}", beat.time_ns,
                        expected=int(want[beat.idx]), actual=got, **where)
        if beat.last != int(n_seen == want.size - 1):
            self._error(f"output stream: last={beat.last} on beat {n_seen} of {want.size}", beat.time_ns, **where)

    def _on_result(self, result: RunResult) -> None:
        if self.run is None or self.run.item is not result.item:
            self._error("run result without its network")
            return
        run = self.run
        if result.hung:
            if run.item.expect_hang:
                self.runs_checked += 1
                if "last activity: " not in result.error or not any(
                        k in result.error for k in ("write-back (", "output beat (", "broadcast (")):
                    self._error(f"the watchdog's message does not name the last activity: {result.error}")
                else:
                    self.logger.info("hang caught as expected: %s", result.error)
            else:
                self._error(result.error, self.activity.last_ns)
        elif run.item.expect_hang:
            self._error("the output stream was held off, yet the run ended (the watchdog's test is void)")
        else:
            self._check_run_end(run, result)
        self._close(run, result)
        self.run = None

    def _close(self, run: _Run, result: RunResult) -> None:
        item = run.item
        run.record = {
            "label": item.label,
            "layers": len(item.golden),
            "out_len": [int(g.size) for g in item.golden],
            "aborted": result.aborted,
            "hung": result.hung,
            "expect_hang": item.expect_hang,
            "expect_error": item.expect_error,
            "writebacks_checked": run.wb_checked,
            "values_checked_per_layer": [run.wb_checked[li] + (run.beats_checked if li == len(item.golden) - 1 else 0)
                                         for li in range(len(item.golden))],
            "output_beats_checked": run.beats_checked,
            "output_beats_seen": len(run.streamed),
            "errors": len(self.errors) - run.errors_before,
            "first_error": run.first_error,
            "status": result.status,
            "error": result.error,
            "cycles": result.cycles,
            "layer_cycles": result.layer_cycles,
            "broadcasts": result.broadcasts,
            "busy_cycles": result.busy_cycles,
            "starved_cycles": result.starved_cycles,
            "blocked_cycles": result.blocked_cycles,
            "start_ns": result.start_ns,
            "end_ns": result.end_ns,
        }
        self.records.append(run.record)
        self.outputs[f"run{run.index}_raw"] = np.asarray(run.streamed_data, np.int64)
        self.outputs[f"run{run.index}_idx"] = np.asarray(run.streamed, np.int64)

    def _check_run_end(self, run: _Run, result: RunResult) -> None:
        item = run.item
        if result.aborted:
            self.runs_aborted += 1
            self.logger.info("run %d aborted by reset: %d write-backs checked before it", run.index, len(run.written))
            return
        self.runs_checked += 1
        if item.expect_error:
            if result.error_code != item.expect_error:
                self._error(f"run ended with error code {result.error_code} ({result.error or 'no error'}), "
                            f"expected {item.expect_error}")
            return
        if result.error:
            self._error(f"run ended with {result.error}")
        n = item.hw.num_pe
        for li, want in enumerate(item.golden):
            missing = [i for i in range(want.size) if (li, i) not in run.written]
            if missing:
                self._error(f"layer {li}: {len(missing)} of {want.size} outputs never written back "
                            f"(first: output {missing[0]}, PE {missing[0] % n})",
                            layer=li, index=missing[0], pe=missing[0] % n)
        if len(run.streamed) != item.golden[-1].size:
            self._error(f"output stream: {len(run.streamed)} beats for {item.golden[-1].size} outputs")
        # the broadcast counter: every non-zero input of every layer, plus each bias column
        inputs = [item.act, *item.golden[:-1]]
        layers = item.image.layers
        want_bcasts = sum(len(broadcast_columns(a, pl.desc)[0]) for a, pl in zip(inputs, layers, strict=True))
        if result.broadcasts != want_bcasts:
            self._error(f"BCAST_COUNT {result.broadcasts}, the model broadcasts {want_bcasts} columns")
        # the busy counters (when the driver read them): some PE had work when some broadcast column has
        # entries, none without broadcasts
        work = 0
        for a, pl in zip(inputs, layers, strict=True):
            cols, _ = broadcast_columns(a, pl.desc)
            ptr = pl.enc.ptr                            # [pe, cols + 1]
            work += int((ptr[:, np.asarray(cols, np.int64) + 1] - ptr[:, np.asarray(cols, np.int64)]).sum())
        busy = sum(result.busy_cycles)
        if item.pe_counters and ((work > 0 and busy == 0) or (want_bcasts == 0 and busy > 0)):
            self._error(f"PE busy counters sum to {busy}, with {want_bcasts} broadcast columns holding {work} "
                        f"entries")

    # ------------------------------------------------------------------ end of test
    def check_phase(self) -> None:
        if self.run is not None and not self.errors:
            self._error("the test ended in the middle of a run")
        self.dump()
        self.logger.info("scoreboard: %d runs checked, %d aborted by reset, %d values compared, %d errors",
                         self.runs_checked, self.runs_aborted, self.values_checked, len(self.errors))
        if self.errors:
            # "first" = the earliest in simulation time, the one mismatch.json and `make waves` centre on
            first = self.first_mismatch["message"] if self.first_mismatch else self.errors[0]
            raise AssertionError(f"{len(self.errors)} scoreboard errors; first: {first}\n"
                                 f"reproduce with waves: {self.first_mismatch['reproduce']}")
        assert self.runs_checked > 0, "scoreboard: no run was checked"

    def dump(self, folder: Path | None = None) -> None:
        """scoreboard.json and scoreboard_outputs.npz in the run folder (the test's working folder)."""
        folder = Path(folder or os.getcwd())
        summary = {"runs_checked": self.runs_checked, "runs_aborted": self.runs_aborted,
                   "values_checked": self.values_checked, "errors": len(self.errors),
                   "first_errors": self.errors[:self.MAX_LOGGED], "first_mismatch": self.first_mismatch,
                   "runs": self.records}
        (folder / SCOREBOARD_FILE).write_text(json.dumps(summary, indent=1) + "\n")
        np.savez(folder / OUTPUTS_FILE, **self.outputs)
