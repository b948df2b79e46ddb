"""Hardware parameters shared by the model, the RTL and the testbench (docs/design-contract.md)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any

from models.errors import EieInputError

# The model computes in int64: products and accumulators must stay well inside it.
_MAX_MODEL_BITS = 62


@dataclass(frozen=True)
class HwParams:
    """RTL parameters; defaults as in docs/design-contract.md."""

    num_pe: int = 64
    fifo_depth: int = 8
    act_width: int = 16
    weight_width: int = 16
    acc_width: int = 32
    guard_bits: int = 8
    shift_width: int = 5
    spm_words: int = 16384
    ptr_width: int = 18
    ptr_depth: int = 32768
    act_depth: int = 1024
    mac_lanes: int = 2  # eie_top LANES: 2 = dual issue possible (FLAGS.DUAL), 1 = the paper's one MAC per PE

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise EieInputError(f"HwParams.{f.name} must be an int, got {value!r}")
        checks = [
            (self.num_pe >= 1, "num_pe must be >= 1"),
            (self.fifo_depth >= 1, "fifo_depth must be >= 1"),
            (2 <= self.act_width <= 32, "act_width must be in 2..32"),
            (2 <= self.weight_width <= 32, "weight_width must be in 2..32"),
            (
                self.act_width + self.weight_width <= _MAX_MODEL_BITS,
                f"act_width + weight_width must be <= {_MAX_MODEL_BITS}",
            ),
            (self.guard_bits >= 0, "guard_bits must be >= 0"),
            (
                self.act_width + self.guard_bits <= self.acc_width <= _MAX_MODEL_BITS,
                f"acc_width must be in act_width + guard_bits ({self.act_width + self.guard_bits})"
                f"..{_MAX_MODEL_BITS}",
            ),
            (1 <= self.shift_width <= 6, "shift_width must be in 1..6"),
            (self.spm_words >= 1, "spm_words must be >= 1"),
            (
                self.ptr_width <= _MAX_MODEL_BITS and (1 << self.ptr_width) >= self.spm_words * 8,
                f"ptr_width={self.ptr_width} cannot address spm_words*8={self.spm_words * 8} entries",
            ),
            (
                self.ptr_depth >= 2 and self.ptr_depth % 2 == 0,
                "ptr_depth must be even and >= 2 (two banks)",
            ),
            (self.act_depth >= 1, "act_depth must be >= 1"),
            (self.mac_lanes in (1, 2), "mac_lanes must be 1 or 2"),
        ]
        for ok, message in checks:
            if not ok:
                raise EieInputError(f"HwParams: {message} (got {self})")

    @property
    def max_shift(self) -> int:
        return (1 << self.shift_width) - 1

    @property
    def spm_entries(self) -> int:
        """Entries a PE's sparse-matrix memory can hold.

        Every pointer, including a layer's end pointer, must be representable in ptr_width
        bits, so when 2^ptr_width == 8*spm_words the last entry slot stays unused.
        """
        return min(self.spm_words * 8, (1 << self.ptr_width) - 1)

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HwParams:
        if not isinstance(data, dict):
            raise EieInputError(f"HwParams: expected a JSON object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise EieInputError(f"HwParams: unknown field(s) {unknown}; known: {sorted(known)}")
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> HwParams:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise EieInputError(f"HwParams: invalid JSON: {exc}") from None
        return cls.from_dict(data)
