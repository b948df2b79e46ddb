"""EIE reference model: compression, encoding, bit-exact golden model and cycle model.

Pure Python + numpy; never imports cocotb. See docs/numerics.md, docs/memory-format.md and
docs/layer-format.md for the specifications this package implements.
"""

from models.errors import CapacityError, EieInputError
from models.hwparams import HwParams

__all__ = ["CapacityError", "EieInputError", "HwParams"]
