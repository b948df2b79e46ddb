"""Exceptions raised by the reference model for bad user input."""

from __future__ import annotations


class EieInputError(ValueError):
    """A layer, parameter or file the model cannot accept; the message names the problem."""


class CapacityError(EieInputError):
    """An encoded network does not fit a PE memory.

    Attributes name the PE (``None`` when every PE is affected alike), the memory
    (``"spm"``, ``"ptr"``, ``"act"``), the layer, and the needed and available sizes.
    """

    def __init__(
        self,
        message: str,
        *,
        pe: int | None,
        memory: str,
        layer: int | None,
        needed: int,
        available: int,
    ) -> None:
        super().__init__(message)
        self.pe = pe
        self.memory = memory
        self.layer = layer
        self.needed = needed
        self.available = available


class EieAccuracyWarning(UserWarning):
    """A lossy step (weight sharing, fixed point, saturation) exceeded its documented bound
    (docs/numerics.md, "Error reports and bounds"); ``compress_network(strict=True)`` raises
    EieInputError instead."""
