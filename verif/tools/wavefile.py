"""Waveform access: an FST or VCD through pywellen (times in ns), the dump's enum tables and the
design root of an eie_top dump."""

from __future__ import annotations

from pathlib import Path


class Waves:
    """An FST/VCD through pywellen, with times in ns."""

    def __init__(self, path: Path) -> None:
        import pywellen

        self.path = path
        self.wave = pywellen.Waveform(str(path))
        ts = self.wave.timescale
        self.ns_per_unit = ts.factor * 10.0 ** (ts.unit.to_exponent() + 9)
        self.vars = {v.full_name: v for v in self.wave.all_vars()}
        self._signals: dict[str, object] = {}

    @property
    def simulator(self) -> str | None:
        version = (self.wave.version or "").lower()
        if "icarus" in version:
            return "icarus"
        if "verilat" in version:
            return "verilator"
        return None

    def signal(self, name: str):
        if name not in self._signals:
            self._signals[name] = self.vars[name].signal
        return self._signals[name]

    def changes(self, name: str, t0_ns: float, t1_ns: float) -> list[tuple[float, object]]:
        """(time ns, value) from t0 (value in force at t0, None if unknown) to t1."""
        sig = self.signal(name)
        u0, u1 = t0_ns / self.ns_per_unit, t1_ns / self.ns_per_unit
        lo, hi = 0, len(sig)
        while lo < hi:  # first change after u0
            mid = (lo + hi) // 2
            if sig[mid][0] <= u0:
                lo = mid + 1
            else:
                hi = mid
        first = sig[lo - 1][1] if lo > 0 else None
        out: list[tuple[float, object]] = [(t0_ns, first)]
        i = lo
        while i < len(sig):
            t, v = sig[i]
            if t >= u1:
                break
            out.append((t * self.ns_per_unit, v))
            i += 1
        return out

    def last_time_ns(self) -> float:
        end = 0.0
        for name in self.vars:
            if name.endswith("clk_i"):
                sig = self.signal(name)
                if len(sig):
                    end = max(end, sig[len(sig) - 1][0] * self.ns_per_unit)
        return end

    def reset_release_ns(self, root: str | None) -> float:
        """Time of the first rising edge of rst_ni (0 when there is none)."""
        cands = [f"{root}.rst_ni"] if root else []
        cands += [n for n in self.vars if n.endswith(".rst_ni")]
        for name in cands:
            if name in self.vars:
                sig = self.signal(name)
                prev = None
                for i in range(len(sig)):
                    t, v = sig[i]
                    if v == 1 and prev != 1 and i > 0:
                        return t * self.ns_per_unit
                    prev = v
                return 0.0
        return 0.0



def enum_names(var) -> dict[int, str] | None:
    try:
        enum = var.enum_type
    except Exception:
        return None
    if not enum:
        return None
    try:
        return {int(k, 2): n for k, n in enum[1]}
    except (ValueError, TypeError, IndexError):
        return None



def design_root(names: dict[str, object]) -> str:
    """The scope that holds the design (eie_top on both simulators; Verilator puts the top ports
    also in a $rootio scope): the parent of u_ccu."""
    roots = sorted({n[: -len(".u_ccu.state_q")] for n in names if n.endswith(".u_ccu.state_q")}, key=len)
    if not roots:
        raise SystemExit("waves: no <root>.u_ccu.state_q in the FST: not an eie_top dump?")
    return roots[0]


def first_time(waves: Waves, names: list[str], pred, after_ns: float = 0.0) -> float | None:
    """Earliest time (ns) >= after_ns at which any signal of `names` takes a value with pred(value)
    true (changes only: a value already in force at after_ns counts from its change); None if never."""
    best: float | None = None
    for name in names:
        sig = waves.signal(name)
        for i in range(len(sig)):
            t, v = sig[i]
            t_ns = t * waves.ns_per_unit
            if best is not None and t_ns >= best:
                break
            if t_ns >= after_ns and pred(v):
                best = t_ns
                break
    return best
