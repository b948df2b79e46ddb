"""Fixtures of the model tests: seeded generators, the real layers in ../shared/data."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from models.layerfile import FloatLayer, load_layer

# ../shared/data relative to the repository root (models/tests/ -> repo root -> ..)
DATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data"

settings.register_profile(
    "models",
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("models")

needs_data = pytest.mark.skipif(
    not DATA_DIR.is_dir(), reason=f"real layers folder {DATA_DIR} is absent"
)


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> np.random.Generator:
    """One generator per test, from the run's --seed (default 1) and the test's name."""
    base = request.config.getoption("--seed", default=1)
    seed = (int(base) * 1_000_003 + zlib.crc32(request.node.nodeid.encode())) % 2**32
    print(f"rng seed {seed} (--seed {base})")
    return np.random.default_rng(seed)


def _real(name: str) -> FloatLayer:
    if not DATA_DIR.is_dir():
        pytest.skip(f"real layers folder {DATA_DIR} is absent")
    return load_layer(DATA_DIR / name)


@pytest.fixture(scope="session")
def vgg_fc7() -> FloatLayer:
    return _real("vgg16_fc7_64pe.npz")


@pytest.fixture(scope="session")
def alex_fc8() -> FloatLayer:
    return _real("alexnet_fc8_32pe.npz")
