"""verif/sim.py's choice of Verilator model (flat, lean, hierarchical) and the check that a
hierarchical build really substituted its blocks (pure Python: no simulator runs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from verif import sim


def test_default_hier_only_large_plain_verilator_tops() -> None:
    big = {"NUM_PE": 16}
    assert sim.default_hier("verilator", "eie_top", big)
    assert not sim.default_hier("verilator", "eie_top", {"NUM_PE": 15})
    assert not sim.default_hier("icarus", "eie_top", big)
    assert not sim.default_hier("verilator", "eie_pe", big)
    # a hierarchical block is neither traced nor covered
    assert not sim.default_hier("verilator", "eie_top", big, waves=True)
    assert not sim.default_hier("verilator", "eie_top", big, coverage=True)


@pytest.mark.parametrize("kwargs, message", [
    ({"sim": "icarus", "hier": True}, "Verilator build options"),
    ({"sim": "icarus", "lean": True}, "Verilator build options"),
    ({"sim": "verilator", "hier": True, "lean": True}, "two different models"),
    ({"sim": "verilator", "hier": True, "waves": True}, "waves or coverage"),
    ({"sim": "verilator", "hier": True, "coverage": True}, "waves or coverage"),
])
def test_build_rejects_impossible_models(kwargs: dict, message: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=message):
        sim.build(toplevel="eie_top", parameters={"NUM_PE": 16}, root=tmp_path, **kwargs)


def test_build_folders_differ_per_model(tmp_path: Path) -> None:
    folders = {sim.build_dir_for("verilator", "eie_top", {"NUM_PE": 16}, waves=False, coverage=False,
                                 hier=h, lean=le, root=tmp_path) for h, le in ((0, 0), (1, 0), (0, 1))}
    assert len(folders) == 3


def test_check_hier_needs_library_and_import(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="did not substitute"):
        sim._check_hier(tmp_path)                                   # nothing built
    (tmp_path / "Veie_pe_7").mkdir()
    (tmp_path / "Veie_pe_7" / "libeie_pe_7.a").write_bytes(b"")
    (tmp_path / "Vtop__Dpi.h").write_text("// no import: the top elaborated the PEs itself\n")
    with pytest.raises(AssertionError, match="did not substitute"):
        sim._check_hier(tmp_path)
    (tmp_path / "Vtop__Dpi.h").write_text('extern void* eie_pe_7_protectlib_create(const char* scope);\n')
    sim._check_hier(tmp_path)                                       # substituted: no error
