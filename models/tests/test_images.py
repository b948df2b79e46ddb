"""Memory image files: formats checked line by line, and read back (hex and npz)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from models.compress import compress_network
from models.encode import load_images, place_network, write_images
from models.errors import EieInputError
from models.golden import run_network
from models.hwparams import HwParams

# random float weights clustered by k-means lose a few percent by design: their accuracy warnings are expected
pytestmark = pytest.mark.filterwarnings("ignore::models.errors.EieAccuracyWarning")


@pytest.fixture
def network(rng: np.random.Generator):
    w0 = np.where(rng.random((13, 10)) < 0.4, rng.normal(size=(13, 10)), 0).astype(np.float32)
    w1 = np.where(rng.random((6, 13)) < 0.4, rng.normal(size=(6, 13)), 0).astype(np.float32)
    x = rng.normal(size=9)
    x[::3] = 0
    hw = HwParams(num_pe=3)
    net = compress_network([w0, w1], x, [True, False], hw)
    return place_network(net), net.quantize_input(x)


def test_files_and_formats(tmp_path: Path, network) -> None:
    image, act = network
    write_images(image, tmp_path, act)
    man = json.loads((tmp_path / "manifest.json").read_text())
    assert man["num_pe"] == 3 and man["hw"]["num_pe"] == 3 and len(man["layers"]) == 2
    l0, l1 = man["layers"]
    assert (l0["in_len"], l0["out_len"], l0["cols"], l0["has_bias"]) == (9, 13, 10, True)
    assert l0["bias_act"] == 2 ** l0["FA"] and l0["relu"] is True and l1["relu"] is False
    assert l1["FA"] == l0["FO"] and l1["ptr_base"] == 12 and l1["spm_base"] % 8 == 0
    assert len(l0["codebook"]) == 16 and l0["codebook"][0] == 0
    for k in range(3):
        d = tmp_path / f"pe{k}"
        spm = (d / "spm.hex").read_text().splitlines()
        ptr_even = (d / "ptr_even.hex").read_text().splitlines()
        ptr_odd = (d / "ptr_odd.hex").read_text().splitlines()
        acts = (d / "act.hex").read_text().splitlines()
        assert all(len(s) == 16 for s in spm) and len(spm) == man["spm_words_used"]
        assert all(len(p) == 5 for p in ptr_even + ptr_odd)  # ceil(17 / 4) digits
        # pointer g lives in bank g & 1 at line g >> 1; layer 0 has g = 0..10
        ptrs = [int(p, 16) for p in ptr_even]
        assert ptrs[0] == 0 and ptrs[5] == l0["spm_end"][k]  # p[0] and p[cols] (g = 10)
        assert int(ptr_odd[0], 16) == int(image.layers[0].enc.ptr[k, 1])  # p[1] (g = 1)
        # act.hex: PE k holds inputs j = k, k + 3, ... as 16-bit two's complement
        want = [int(a) & 0xFFFF for a in act[k::3]]
        assert [int(a, 16) for a in acts] == want and all(len(a) == 4 for a in acts)
        # entry e of a word is bits [8e+7 : 8e], byte = z << 4 | v
        enc = image.layers[0].enc
        word = int(spm[0], 16)
        for e in range(min(8, enc.v[k].size)):
            assert (word >> (8 * e)) & 0xFF == int(enc.z[k][e]) << 4 | int(enc.v[k][e])


@pytest.mark.parametrize("source", ["npz", "hex"])
def test_load_back(tmp_path: Path, network, source: str) -> None:
    image, act = network
    write_images(image, tmp_path, act)
    back, act_back = load_images(tmp_path, source=source)
    assert back.hw == image.hw and np.array_equal(back.spm, image.spm)
    assert np.array_equal(back.ptr, image.ptr) and np.array_equal(act_back, act)
    assert [pl.desc for pl in back.layers] == [pl.desc for pl in image.layers]
    for a, b in zip(run_network(back, act_back), run_network(image, act), strict=True):
        assert np.array_equal(a, b)


def test_load_rejects(tmp_path: Path, network) -> None:
    with pytest.raises(EieInputError, match="cannot read manifest"):
        load_images(tmp_path)
    image, _ = network
    write_images(image, tmp_path)
    man = json.loads((tmp_path / "manifest.json").read_text())
    man["spm_words_used"] += 1
    (tmp_path / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(EieInputError, match="disagree with the manifest"):
        load_images(tmp_path)


def test_pad_skip_round_trip(tmp_path: Path, network) -> None:
    """FLAGS.PAD_SKIP per layer: written to the manifest, read back; a manifest without it (written
    before the flag existed) reads as True, the LayerDesc default."""
    from dataclasses import replace

    from models.encode import NetworkImage

    image, _ = network
    assert all(pl.desc.pad_skip for pl in image.layers)
    mixed = NetworkImage(image.hw, (replace(image.layers[0], desc=replace(image.layers[0].desc, pad_skip=False)),
                                    image.layers[1]), image.spm, image.ptr)
    write_images(mixed, tmp_path)
    man = json.loads((tmp_path / "manifest.json").read_text())
    assert [m["pad_skip"] for m in man["layers"]] == [False, True]
    back, _ = load_images(tmp_path)
    assert [pl.desc.pad_skip for pl in back.layers] == [False, True]
    for m in man["layers"]:
        del m["pad_skip"]
    (tmp_path / "manifest.json").write_text(json.dumps(man))
    back, _ = load_images(tmp_path)
    assert [pl.desc.pad_skip for pl in back.layers] == [True, True]
