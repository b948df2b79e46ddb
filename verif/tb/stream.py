"""Valid/ready stream BFMs (cocotb only): source, sink and monitor with pause generators.

Protocol: a beat transfers at a rising edge where valid and ready were both high. Drivers change
their outputs right after the rising edge; everything is sampled in ReadOnly, after the design
settled. A source never withdraws or changes a beat it presented until it was taken.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping

import numpy as np
from cocotb.handle import LogicObject
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge

from verif.tb.common import read_uint

Pause = Callable[[], bool]


def never() -> bool:
    return False


def random_pause(rng: np.random.Generator, probability: float) -> Pause:
    """Pause on each cycle independently with `probability`."""
    return lambda: bool(rng.random() < probability)


def bursty_pause(rng: np.random.Generator, mean_run: float = 8.0, duty: float = 0.5) -> Pause:
    """Alternate runs of go and stop cycles with geometric lengths: long stalls fill queues."""
    state = {"stop": False, "left": 0}

    def _pause() -> bool:
        if state["left"] <= 0:
            state["stop"] = bool(rng.random() < duty)
            state["left"] = int(rng.geometric(1.0 / mean_run))
        state["left"] -= 1
        return state["stop"]

    return _pause


def pause_of(rng: np.random.Generator, kind: float | str | None, bursty_run: float = 8.0) -> Pause:
    """A pause pattern by name: None (never), "bursty" (runs of mean `bursty_run`), or a
    probability (independent random pauses)."""
    if kind is None:
        return never
    if kind == "bursty":
        return bursty_pause(rng, mean_run=bursty_run)
    return random_pause(rng, float(kind))


class StreamSource:
    """Drives `valid` and the data fields; the design drives `ready`."""

    def __init__(self, clk: LogicObject, valid: LogicObject, ready: LogicObject,
                 fields: Mapping[str, LogicObject], pause: Pause = never) -> None:
        self.clk, self.valid, self.ready, self.fields = clk, valid, ready, dict(fields)
        self.pause = pause
        self.queue: deque[dict[str, int]] = deque()
        self.sent: list[dict[str, int]] = []
        self.valid.value = 0

    def send(self, beat: Mapping[str, int]) -> None:
        self.queue.append(dict(beat))

    def idle(self) -> bool:
        return not self.queue

    async def run(self) -> None:
        presenting = False
        while True:
            await RisingEdge(self.clk)
            if not presenting and self.queue and not self.pause():
                beat = self.queue[0]
                for name, handle in self.fields.items():
                    handle.value = beat[name]
                presenting = True
            self.valid.value = int(presenting)
            await ReadOnly()
            if presenting and read_uint(self.ready, "ready"):
                # taken at the coming edge; the next beat may follow right after it
                self.sent.append(self.queue.popleft())
                presenting = False


class StreamSink:
    """Drives `ready` (with pauses) and collects the beats it accepts."""

    def __init__(self, clk: LogicObject, valid: LogicObject, ready: LogicObject,
                 fields: Mapping[str, LogicObject], pause: Pause = never) -> None:
        self.clk, self.valid, self.ready, self.fields = clk, valid, ready, dict(fields)
        self.pause = pause
        self.received: list[dict[str, int]] = []
        self.ready.value = 0

    async def run(self) -> None:
        while True:
            await RisingEdge(self.clk)
            ready = not self.pause()
            self.ready.value = int(ready)
            await ReadOnly()
            if read_uint(self.valid, "valid") and ready:
                self.received.append({n: read_uint(h, n) for n, h in self.fields.items()})


async def send_and_drain(clk: LogicObject, source: StreamSource, sink: StreamSink,
                         beats: list[Mapping[str, int]], expected_out: int, limit: int,
                         what_in: str = "beats in", what_out: str = "beats out") -> None:
    """Queue `beats` on `source`, wait (at most `limit` cycles) until they were all taken and
    `expected_out` more beats reached `sink`, let 4 cycles pass and check nothing was lost or
    duplicated. Returns in ReadOnly."""
    want = len(sink.received) + expected_out
    for beat in beats:
        source.send(beat)
    sent = len(source.sent) + len(source.queue)
    for _ in range(limit):
        await RisingEdge(clk)
        if len(sink.received) >= want and len(source.sent) == sent:
            break
    await ClockCycles(clk, 4)
    await ReadOnly()
    assert len(source.sent) == sent, f"{sent - len(source.sent)} {what_in} never accepted after {limit} cycles"
    assert len(sink.received) == want, (
        f"{len(sink.received)} {what_out}, expected {want} (lost or duplicated)")
