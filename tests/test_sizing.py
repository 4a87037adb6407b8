"""The default worker count: the CPUs this process may use, from its affinity and cgroup quota."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.jobs import sizing


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def cpus(root: Path, proc_cgroup: str, affinity: int = 8) -> int:
    return sizing.available_cpus(root, proc_cgroup, affinity=lambda: affinity)


def test_no_quota_leaves_the_affinity_mask(tmp_path) -> None:
    write(tmp_path, "cpu.max", "max 100000\n")
    assert cpus(tmp_path, "0::/\n", affinity=3) == 3
    assert sizing.cgroup_cpu_limit(tmp_path, "0::/\n") is None


def test_a_cgroup_v2_quota_bounds_the_count(tmp_path) -> None:
    write(tmp_path, "cpu.max", "200000 100000\n")
    assert cpus(tmp_path, "0::/\n") == 2
    write(tmp_path, "cpu.max", "150000 100000\n")
    assert sizing.cgroup_cpu_limit(tmp_path, "0::/\n") == 1.5
    assert cpus(tmp_path, "0::/\n") == 1


def test_the_tightest_v2_limit_on_the_way_up_counts(tmp_path) -> None:
    write(tmp_path, "cpu.max", "max 100000\n")
    write(tmp_path, "system.slice/cpu.max", "300000 100000\n")
    write(tmp_path, "system.slice/app.service/cpu.max", "max 100000\n")
    assert cpus(tmp_path, "0::/system.slice/app.service\n") == 3


def test_a_quota_below_one_cpu_still_gives_one_worker(tmp_path) -> None:
    write(tmp_path, "cpu.max", "50000 100000\n")
    assert cpus(tmp_path, "0::/\n") == 1


def test_a_cgroup_v1_cfs_quota_bounds_the_count(tmp_path) -> None:
    write(tmp_path, "cpu,cpuacct/cpu.cfs_quota_us", "400000\n")
    write(tmp_path, "cpu,cpuacct/cpu.cfs_period_us", "100000\n")
    assert cpus(tmp_path, "4:cpu,cpuacct:/\n3:memory:/x\n") == 4
    write(tmp_path, "cpu,cpuacct/cpu.cfs_quota_us", "-1\n")
    assert cpus(tmp_path, "4:cpu,cpuacct:/\n", affinity=6) == 6


def test_the_affinity_mask_wins_when_it_is_smaller(tmp_path) -> None:
    write(tmp_path, "cpu.max", "800000 100000\n")
    assert cpus(tmp_path, "0::/\n", affinity=2) == 2


def test_zol_workers_overrides_the_count(monkeypatch) -> None:
    monkeypatch.setenv(sizing.WORKERS_ENV, "5")
    assert sizing.configured_workers() == 5
    monkeypatch.delenv(sizing.WORKERS_ENV)
    assert sizing.configured_workers() == sizing.available_cpus()


@pytest.mark.parametrize("text", ["", "garbage", "0::/\n"])
def test_missing_or_odd_cgroup_files_mean_no_limit(tmp_path, text: str) -> None:
    assert sizing.cgroup_cpu_limit(tmp_path, text) is None
