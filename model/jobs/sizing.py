"""How many training workers the CPUs this process may use can keep busy, and their job budget."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

WORKERS_ENV = "ZOL_WORKERS"
JOBS_PER_WORKER_ENV = "ZOL_JOBS_PER_WORKER"
# A worker's budget, in network builds (`policy.wear`): each network shape new to a worker
# keeps about 35 MB for good in it (TensorFlow's traced graphs), each job on a shape it has
# traced about 1 MB; a fresh process hands it all back. Ten bound a worker near 1.2 GB.
DEFAULT_JOBS_PER_WORKER = 10
CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_SELF_CGROUP = Path("/proc/self/cgroup")
# cgroup v1 mounts the CPU controller under one of these names.
CGROUP_V1_CPU_DIRS = ("cpu", "cpu,cpuacct", "cpuacct,cpu")


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _cgroup_paths(proc_cgroup: str | None) -> tuple[str | None, dict[str, str]]:
    """The v2 path (`0::/x`) and the v1 paths by controller list, from /proc/self/cgroup."""
    unified: str | None = None
    v1: dict[str, str] = {}
    for line in (proc_cgroup or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":
            unified = path
        else:
            v1[controllers] = path
    return unified, v1


def _ancestors(root: Path, path: str | None) -> list[Path]:
    """The cgroup's folder and every parent up to the mount point (limits nest)."""
    folders = [root]
    current = root
    for part in (path or "/").strip("/").split("/"):
        if part:
            current = current / part
            folders.append(current)
    return folders


def cgroup_cpu_limit(root: Path = CGROUP_ROOT, proc_cgroup: str | None = None) -> float | None:
    """CPUs the cgroup quota allows (v2 `cpu.max`, else v1 CFS quota), None when unlimited.

    In a container the process's cgroup is usually the mount point itself; on a host it is
    a folder below it, and any ancestor may hold the tighter limit.
    """
    if proc_cgroup is None:
        proc_cgroup = _read(PROC_SELF_CGROUP)
    unified, v1 = _cgroup_paths(proc_cgroup)
    limits: list[float] = []
    for folder in _ancestors(root, unified):
        fields = (_read(folder / "cpu.max") or "").split()
        if len(fields) == 2 and fields[0] != "max":
            quota, period = float(fields[0]), float(fields[1])
            if quota > 0 and period > 0:
                limits.append(quota / period)
    if not limits:
        for name in CGROUP_V1_CPU_DIRS:
            path = next((p for controllers, p in v1.items() if controllers == name), None)
            for folder in dict.fromkeys([root / name, *_ancestors(root / name, path)]):
                quota_text = _read(folder / "cpu.cfs_quota_us")
                period_text = _read(folder / "cpu.cfs_period_us")
                if quota_text and period_text and float(quota_text) > 0:
                    limits.append(float(quota_text) / float(period_text))
    return min(limits) if limits else None


def available_cpus(
    root: Path = CGROUP_ROOT,
    proc_cgroup: str | None = None,
    affinity: Callable[[], int] | None = None,
) -> int:
    """CPUs this process may actually use: its affinity mask, bounded by the cgroup quota.

    A quota of 1.5 CPUs gives one worker: a second would be throttled along with the server.
    """
    if affinity is None:
        try:
            cpus = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            cpus = os.cpu_count() or 1
    else:
        cpus = affinity()
    limit = cgroup_cpu_limit(root, proc_cgroup)
    if limit is not None:
        cpus = min(cpus, math.floor(limit))
    return max(1, cpus)


def configured_workers() -> int:
    return max(1, int(os.environ.get(WORKERS_ENV) or available_cpus()))


def configured_jobs_per_worker() -> int:
    return max(1, int(os.environ.get(JOBS_PER_WORKER_ENV) or DEFAULT_JOBS_PER_WORKER))
