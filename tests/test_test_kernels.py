"""tools/test_kernels.py (`make test-kernels`): a kernel the CPU cannot run is skipped with its reason, never run."""

import pytest

from tools import test_kernels as K


def test_a_kernel_the_cpu_lacks_is_skipped_with_its_reason(monkeypatch, capsys):
    monkeypatch.setattr(K, "cpu_flags", lambda: {"avx", "avx2"})
    monkeypatch.setattr(K, "run", lambda name, extra: pytest.fail(f"{name} was run"))
    assert K.skip_reason("SkylakeX") == "this CPU has no avx512f (not in /proc/cpuinfo's flags)"
    assert K.main(["--only", "SkylakeX"]) == 0
    assert "SkylakeX       skipped: this CPU has no avx512f" in capsys.readouterr().out


def test_no_readable_cpu_flags_skips_every_kernel(monkeypatch):
    monkeypatch.setattr(K, "cpu_flags", lambda: None)
    assert all("cannot read the CPU's flags" in K.skip_reason(name) for name in K.KERNELS)


def test_a_failed_run_fails_the_target(monkeypatch):
    monkeypatch.setattr(K, "skip_reason", lambda name: None)
    monkeypatch.setattr(K, "run", lambda name, extra: (1 if name == "Haswell" else 0, "summary", 0.0))
    assert K.main(["--only", "Sandybridge"]) == 0 and K.main([]) == 1


def test_the_tests_it_runs_exist():
    assert K.tests()[0] == "tests/test_replay_spread.py" and len(K.tests()) > 1
    assert all((K.ROOT / t).is_file() for t in K.tests())
