"""Lanes of a flattened port, as handles the single-stream BFMs accept (cocotb only).

RTL ports pack NUM lanes of WIDTH bits into one vector (lane k is bits [k*WIDTH +: WIDTH], e.g.
`child_valid_i[CHILDREN]`, `child_idx_i[CHILDREN*IDX_W]`). `FlatPort(handle, lanes, width).lane(k)`
returns an object with the parts of a signal handle that StreamSource, StreamSink and read_uint use:
`.value` to read (a Logic for 1-bit lanes, else a LogicArray slice; X/Z stays visible) and to write
(an int), and `_name` for messages. Writes go to a shadow of the whole port and write the whole
port, so any number of lanes can be driven in the same time step: the last write carries them all.
A write that changes nothing is skipped. The bench must not write the port any other way.
"""

from __future__ import annotations

from cocotb.handle import LogicObject
from cocotb.types import Logic, LogicArray


class FlatPort:
    """A flattened port of `lanes` lanes of `width` bits each."""

    def __init__(self, handle: LogicObject, lanes: int, width: int = 1) -> None:
        self.handle, self.lanes, self.width = handle, lanes, width
        self.mask = (1 << width) - 1
        self.shadow = 0  # value last written (input ports only)

    def lane(self, k: int) -> LaneHandle:
        if not 0 <= k < self.lanes:
            raise IndexError(f"{self.handle._name}: lane {k} of {self.lanes}")
        return LaneHandle(self, k)

    def write(self, value: int) -> None:
        """Write every lane at once (lane k from bits [k*width +: width] of `value`)."""
        self.shadow = value
        self.handle.value = value

    def write_lane(self, k: int, value: int) -> None:
        shift = k * self.width
        new = (self.shadow & ~(self.mask << shift)) | ((int(value) & self.mask) << shift)
        if new != self.shadow:  # an unchanged lane costs no write (the port already holds it)
            self.shadow = new
            self.handle.value = new

    def read_lane(self, k: int) -> Logic | LogicArray:
        value = self.handle.value
        if isinstance(value, Logic):  # a 1-bit port (some simulators show [0:0] as a scalar)
            return value
        lo = k * self.width
        if self.width == 1:
            return value[lo]
        return value[lo + self.width - 1:lo]


class LaneHandle:
    """One lane of a FlatPort, looking like a signal handle."""

    def __init__(self, port: FlatPort, k: int) -> None:
        self.port, self.k = port, k
        self._name = f"{port.handle._name}[lane {k}]"

    @property
    def value(self) -> Logic | LogicArray:
        return self.port.read_lane(self.k)

    @value.setter
    def value(self, value: int) -> None:
        self.port.write_lane(self.k, value)
