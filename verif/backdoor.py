"""Memory images for the SRAMs' simulation-only back door (pure Python, no cocotb).

eie_sram_sp has a bulk back door (hdl/eie_sram_sp.sv, `ifndef SYNTHESIS`): a hex file with words
0..N-1 of the array, read with $readmemh when the bench deposits bd_words_q = N and a new
bd_id_q = <id>; the file is "eie_bd_<id>.hex" in the simulator's working folder. The cocotb BFMs
(verif/tb/pe_bfm.py) and the pure-simulator harness (verif/harness/) both write their images
with `write_hex` and `pe_images`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models.encode import NetworkImage, local_activations

# Memories of one PE reachable through the back door, in this order (the harness numbers them
# 4*k + m + 1): sparse matrix, even pointers, odd pointers, source activations.
BACKDOOR_MEMORIES = ("spm", "ptr_even", "ptr_odd", "act_src")


def hex_path(folder: Path, ident: int) -> Path:
    """The file an SRAM reads when its bd_id_q becomes `ident` (> 0)."""
    return folder / f"eie_bd_{ident}.hex"


def write_hex(path: Path, words, width: int) -> int:
    """Write `words` (ints, any sign; masked to `width` bits) as $readmemh text, one per line.
    Returns the number of words."""
    values = np.asarray(words).tolist()
    mask = (1 << width) - 1
    path.write_text("".join(f"{int(v) & mask:x}\n" for v in values))
    return len(values)


def pe_images(image: NetworkImage, act_in: np.ndarray) -> list[list[tuple[np.ndarray, int]]]:
    """Per PE, (words, width in bits) of each of BACKDOOR_MEMORIES for the first layer's input
    `act_in` (global activations [in_len], integers)."""
    hw = image.hw
    local = local_activations(np.asarray(act_in), hw, image.layers[0].desc.in_len)
    return [[(image.spm[k], 64), (image.ptr_even[k], 64), (image.ptr_odd[k], 64),
             (local[k], hw.act_width)] for k in range(hw.num_pe)]
