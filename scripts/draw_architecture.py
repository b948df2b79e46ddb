#!/usr/bin/env python3
"""Draw docs/img/architecture.svg: the top (host interfaces, CCU, LNZD tree, PEs) and one PE's
pipeline. Plain SVG text, no dependencies: `python scripts/draw_architecture.py [--out FILE]`."""

from __future__ import annotations

import argparse
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BOX = "fill:#eef3fb;stroke:#2b4c7e;stroke-width:1.5"
MEM = "fill:#fdf3e1;stroke:#a66a00;stroke-width:1.2"
HOST = "fill:#e9f6ec;stroke:#2e7d32;stroke-width:1.5"


def box(x, y, w, h, title, lines=(), style=BOX, title_class="t"):
    out = [f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="6" style="{style}"/>',
           f'<text x="{x + w / 2}" y="{y + 18}" class="{title_class}">{title}</text>']
    out += [f'<text x="{x + w / 2}" y="{y + 36 + 15 * i}" class="s">{t}</text>' for i, t in enumerate(lines)]
    return out


def arrow(x1, y1, x2, y2, label="", dx=0, dy=-4):
    out = [f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" class="a" marker-end="url(#m)"/>']
    if label:
        out.append(f'<text x="{(x1 + x2) / 2 + dx}" y="{(y1 + y2) / 2 + dy}" class="l">{label}</text>')
    return out


def draw() -> str:
    e: list[str] = []
    # host side
    e += box(20, 40, 150, 200, "Host", ["AXI4-Lite", "registers", "", "load stream", "(pe, mem, addr,",
                                       "64-bit data)", "", "output stream"], HOST)
    e += box(230, 40, 220, 200, "CCU (eie_ccu)", ["descriptor table", "(MAX_LAYERS layers)", "checks -> error codes",
                                                 "sequencer: CFG START", "BCAST BIAS END WAIT", "broadcast register",
                                                 "output streamer", "counters"])
    e += arrow(170, 80, 230, 80, "AXI4-Lite")
    e += arrow(170, 150, 230, 150, "ld_*")
    e += arrow(230, 215, 170, 215, "out_*")
    e += box(510, 40, 200, 90, "LNZD tree", ["fan-in 4 nodes, registered", "64 PEs: 16+4+1 = 21 nodes",
                                             "merges in increasing j"])
    e += arrow(510, 85, 450, 85, "root (j, a)")
    e += box(510, 160, 200, 80, "broadcast", ["(j, a) to every queue", "only when all have room"])
    e += arrow(450, 200, 510, 200, "bc_*")
    # PE array
    for i, label in enumerate(["PE 0", "PE 1", "...", "PE N-1"]):
        x = 770 + i * 0
        y = 40 + i * 52
        e += box(x, y, 160, 44, label, [], BOX if label != "..." else "fill:none;stroke:none")
    e += arrow(710, 200, 770, 200, "")
    e += arrow(770, 70, 710, 70, "nz (j, a)")
    e.append('<text x="850" y="262" class="s">row i of W, b_i, a_i live in PE i mod N</text>')
    # one PE's pipeline
    y0 = 320
    e.append(f'<text x="20" y="{y0 - 10}" class="h">One PE (eie_pe): one (v, z) entry per cycle</text>')
    stages = [
        ("activation queue", ["eie_act_queue", "FIFO_DEPTH (j, a)"]),
        ("pointer read", ["eie_ptr_read", "p[j], p[j+1] in 1 cycle", "even / odd banks"]),
        ("sparse-matrix read", ["eie_spm_read", "64-bit words, 8 entries", "prefetch next word/column"]),
        ("arithmetic", ["eie_arith: S1 codebook, x+=z+1", "S2 acc read, w*a", "S3 round-shift, sat add",
                        "S4 acc write; bypass"]),
        ("activation R/W", ["eie_act_rw: src / dst", "buffers swap per layer", "write-back, ReLU",
                            "local LNZD -> tree"]),
    ]
    x = 20
    for i, (title, lines) in enumerate(stages):
        w = 180 if i != 3 else 205
        e += box(x, y0, w, 110, title, lines)
        if i:
            e += arrow(x - 28, y0 + 55, x, y0 + 55)
        x += w + 28
    mems = [(228, "ptr banks 2 x 16K x 18 b"), (436, "SPM 16K x 64 b (128 KB)"),
            (644, "accumulators 1K x 32 b (1R1W)"), (877, "2 x act buffers 1K x 16 b")]
    for mx, text in mems:
        e += box(mx, y0 + 125, 185, 24, text, [], MEM, title_class="s")
    e.append(f'<text x="20" y="{y0 + 185}" class="k">timing of one column (no stalls): broadcast -> queue 1 cycle ->'
             ' pointer read 2 -> sparse-matrix read 2 -> first entry; then one entry per cycle.</text>')
    e.append(f'<text x="20" y="{y0 + 221}" class="k">the next column follows with no bubble; an empty column'
             ' costs 1 cycle of pointer read (hidden behind columns of 2+ entries).</text>')
    e.append(f'<text x="20" y="{y0 + 203}" class="k">after the last broadcast: 3 pipeline cycles, then the'
             ' write-back pass (one local output row per cycle), then the buffers swap.</text>')
    return "\n".join([
        '<svg xmlns="http://www.w3.org/2000/svg" width="1080" height="560" font-family="sans-serif">',
        '<defs><marker id="m" markerWidth="8" markerHeight="8" refX="7" refY="4" orient="auto">'
        '<path d="M0,0 L8,4 L0,8 z" fill="#333"/></marker></defs>',
        "<style>.t{font-size:14px;font-weight:bold;text-anchor:middle}.s{font-size:11px;text-anchor:middle}"
        ".l{font-size:11px;text-anchor:middle;fill:#444}.h{font-size:15px;font-weight:bold}"
        ".a{stroke:#333;stroke-width:1.5}.k{font-size:12px}</style>",
        '<rect width="100%" height="100%" fill="white"/>',
        '<text x="20" y="24" class="h">eie_top: host interfaces, CCU, LNZD tree, N processing elements</text>',
        *e,
        "</svg>",
    ])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "img" / "architecture.svg")
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(draw() + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
