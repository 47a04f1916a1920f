"""`make test-kernels`: the replay and claims tests under several BLAS kernels, so that a result that depends on
the CPU is caught where the project is developed.

numpy's OpenBLAS picks its kernels by CPU and rounds sums in a kernel-dependent order; OPENBLAS_CORETYPE forces
one (Sandybridge and Haswell run on any AVX2 machine, SkylakeX needs AVX-512). torch's MKL does the same by its
code path (MKL_CBWR=AVX2 forces the AVX2 one). A kernel the CPU cannot run is skipped with its reason printed,
never run (it would stop on an illegal instruction). Exit status 1 if a run failed.

    python tools/test_kernels.py [--only Haswell ...] [-- extra pytest arguments]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# name: (environment, the CPU flag it needs, the OpenBLAS core that must then be in use or None)
KERNELS = {
    "Sandybridge": ({"OPENBLAS_CORETYPE": "Sandybridge"}, "avx", "Sandybridge"),
    "Haswell": ({"OPENBLAS_CORETYPE": "Haswell"}, "avx2", "Haswell"),
    "SkylakeX": ({"OPENBLAS_CORETYPE": "SkylakeX"}, "avx512f", "SkylakeX"),
    "MKL_CBWR=AVX2": ({"MKL_CBWR": "AVX2"}, "avx2", None),
}


def tests() -> list[str]:
    """The replay tests and every claims test."""
    claims = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("tests/test_claims_*.py"))
    return ["tests/test_replay_spread.py", *claims]


def cpu_flags() -> set[str] | None:
    """The CPU's feature flags from /proc/cpuinfo (Linux x86), or None where it cannot be read."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    line = next((ln for ln in text.splitlines() if ln.startswith("flags")), None)
    return set(line.split(":", 1)[1].split()) if line else None


def openblas_core(env: dict) -> str | None:
    """The OpenBLAS core numpy loads under ``env`` (OpenBLAS prints it with OPENBLAS_VERBOSE=2), or None."""
    out = subprocess.run([sys.executable, "-c", "import numpy"], env={**os.environ, **env, "OPENBLAS_VERBOSE": "2"},
                         capture_output=True, text=True)
    found = re.search(r"^Core: (\S+)", out.stderr + out.stdout, re.M)
    return found.group(1) if found else None


def skip_reason(name: str) -> str | None:
    """Why kernel ``name`` cannot run here, or None."""
    env, flag, core = KERNELS[name]
    flags = cpu_flags()
    if flags is None:
        return "cannot read the CPU's flags (/proc/cpuinfo): not a Linux x86 machine"
    if flag not in flags:
        return f"this CPU has no {flag} (not in /proc/cpuinfo's flags)"
    if core is not None and openblas_core(env) != core:
        return f"numpy's BLAS does not switch to the {core} core (not OpenBLAS, or OPENBLAS_CORETYPE ignored)"
    return None


def run(name: str, extra: list[str]) -> tuple[int, str, float]:
    """Run the tests under kernel ``name``; (exit status, pytest's summary line, seconds)."""
    env = {**os.environ, **KERNELS[name][0]}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests(), *extra],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    last = ""
    for line in proc.stdout:
        print(line, end="", flush=True)
        if line.strip():
            last = line.strip().strip("= ")
    return proc.wait(), last, time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="+", choices=list(KERNELS), help="run these kernels only")
    ap.add_argument("extra", nargs="*", help="arguments passed on to pytest (after --)")
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    rows, failed = [], False
    for name in args.only or KERNELS:
        reason = skip_reason(name)
        if reason:
            rows.append(f"{name:14s} skipped: {reason}")
            print(f"test-kernels: {rows[-1]}", flush=True)
            continue
        print(f"test-kernels: {name} ({' '.join(f'{k}={v}' for k, v in KERNELS[name][0].items())})", flush=True)
        status, summary, seconds = run(name, args.extra)
        failed = failed or status != 0
        rows.append(f"{name:14s} {summary} ({seconds:.0f} s wall)")
    print("test-kernels summary:\n  " + "\n  ".join(rows))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
