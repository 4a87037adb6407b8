"""Who trains next: least attained service first, in slices (Tiresias), as pure functions of the state.

No processes, threads or clock here: the job manager passes the waiting jobs, the workers and
`now`, and carries out the returned plan. A job that has trained the least so far goes first,
so a new run starts within a slice even when long runs hold every worker, and the long runs
go on whenever nothing shorter waits. As in Tiresias, the service is counted in bands
(`SERVICE_BANDS`): jobs in one band go first come, first served, so thirty equal runs pressed
at once do not take turns (each turn a pause, and perhaps a trace on another worker).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

# A job keeps its worker at least this long once its slice began (whole epochs, so a little
# longer): long enough that switching costs little, short enough that a new run starts soon.
SLICE_SECONDS = 1.5
# A job waiting this long since it last trained goes first, however much it has had: a stream
# of short runs must not stop a long one for good. Longer than a class's burst (thirty runs
# pressed at once take under a minute on two workers), which a long run must not cut into.
STARVATION_SECONDS = 120.0
# Upper bounds of the service bands, in seconds of training: the first holds a class's runs
# (a second each, a few on a loaded machine) and is what a new run may wait behind at most.
SERVICE_BANDS = (3.0, 30.0, 300.0)
# A worker used up its job budget (memory it gathers) goes on at most this many times as long
# while jobs wait or another worker is being replaced (see `should_retire`).
RECYCLE_GRACE_FACTOR = 2
# Simulated slices per estimate of the waits; beyond it a wait is unknown (None).
ESTIMATE_STEPS = 5000


@dataclass(frozen=True)
class Waiting:
    """A job that wants a worker: new, or preempted after `service` seconds of training."""

    job_id: int
    service: float
    submitted_at: float
    # When it was submitted or last left a worker.
    waiting_since: float
    shape: tuple
    # Seconds of training it still needs, as estimated.
    work_left: float = 0.0
    # The worker it trained on last: its engine for this network is loaded there.
    last_worker: int | None = None


@dataclass(frozen=True)
class Slot:
    """One worker as the policy sees it; `job_id` is the job it trains, if any."""

    worker_id: int
    # Ready for a job when free (not importing TensorFlow, not being retired).
    available: bool = True
    job_id: int | None = None
    # The running job's service before this slice, and when this slice began.
    service: float = 0.0
    slice_started: float = 0.0
    work_left: float = 0.0
    # Asked to hand its job back at the next epoch's end.
    pausing: bool = False
    # Network shapes it has traced (see `shape_key`), and whether it is idle and not compiling.
    shapes: tuple[tuple, ...] = ()
    settled: bool = True

    def attained(self, now: float) -> float:
        return self.service + max(0.0, now - self.slice_started)


@dataclass(frozen=True)
class Plan:
    """Jobs to send to free workers, workers to pause, and when to look again at the latest."""

    assign: tuple[tuple[int, int], ...] = ()
    preempt: tuple[int, ...] = ()
    wake_at: float | None = None


def starving(job: Waiting, now: float) -> bool:
    return now - job.waiting_since >= STARVATION_SECONDS


def band(service: float) -> int:
    """The service band: 0 below the first bound, and so on; -1 for a job asked to stop
    (its last slice only ends it, so it goes first)."""
    if service < 0:
        return -1
    return sum(service >= bound for bound in SERVICE_BANDS)


def priority(job: Waiting, now: float) -> tuple:
    """Sort key: starving jobs first, then the lowest service band, then the earliest submitted."""
    return (not starving(job, now), band(job.service), job.submitted_at, job.job_id)


def queue_order(waiting: list[Waiting], now: float) -> list[Waiting]:
    return sorted(waiting, key=lambda job: priority(job, now))


def _best_slot(job: Waiting, free: list[Slot]) -> Slot:
    """The worker it last trained on, else one idle with the shape traced, else with the
    shape, else an idle one."""
    for preferred in (
        [slot for slot in free if slot.worker_id == job.last_worker],
        [slot for slot in free if slot.settled and job.shape in slot.shapes],
        [slot for slot in free if job.shape in slot.shapes],
        [slot for slot in free if slot.settled],
    ):
        if preferred:
            return preferred[0]
    return free[0]


def _preemptible_at(job: Waiting, slot: Slot, now: float) -> float:
    """When `slot`'s job may be paused for `job`: its slice is over and it has had more.

    A job expected to finish within a slice is left to finish (never, as `math.inf`).
    """
    if slot.work_left < SLICE_SECONDS:
        return math.inf
    if starving(job, now):
        return slot.slice_started + SLICE_SECONDS
    waiting_band = band(job.service)
    if waiting_band >= len(SERVICE_BANDS):
        return math.inf
    # A running job's service grows by one second a second: it is paused for this job once it
    # has left the job's band (a tiny margin past the bound).
    leaves_band = 0.0 if waiting_band < 0 else SERVICE_BANDS[waiting_band]
    short_of_it = leaves_band - slot.attained(now)
    overtakes = now + short_of_it + 1e-3 if short_of_it > 0 else now
    return max(slot.slice_started + SLICE_SECONDS, overtakes)


def schedule(waiting: list[Waiting], slots: list[Slot], now: float) -> Plan:
    """Free workers take the jobs with the least service; then workers whose slice is over
    and whose job has had more than a waiting one are asked to pause."""
    order = queue_order(waiting, now)
    free = [slot for slot in slots if slot.available and slot.job_id is None]
    assign: list[tuple[int, int]] = []
    while order and free:
        job = order.pop(0)
        slot = _best_slot(job, free)
        free.remove(slot)
        assign.append((job.job_id, slot.worker_id))
    # Workers already pausing will take the first of the jobs still waiting.
    pausing = sum(slot.pausing for slot in slots)
    running = [slot for slot in slots if slot.job_id is not None and not slot.pausing]
    preempt: list[int] = []
    wake_at: float | None = None
    for job in order[pausing:]:
        if not running:
            break
        times = {slot.worker_id: _preemptible_at(job, slot, now) for slot in running}
        due = [slot for slot in running if times[slot.worker_id] <= now]
        if due:
            victim = max(due, key=lambda slot: slot.attained(now))
            preempt.append(victim.worker_id)
            running.remove(victim)
            continue
        soonest = min(times.values())
        if not starving(job, now):
            soonest = min(soonest, job.waiting_since + STARVATION_SECONDS)
        if math.isfinite(soonest):
            wake_at = soonest if wake_at is None else min(wake_at, soonest)
    return Plan(tuple(assign), tuple(preempt), wake_at)


def estimate_waits(
    waiting: list[Waiting], slots: list[Slot], now: float
) -> dict[int, float | None]:
    """Seconds until each waiting job (re)starts, by playing the policy forward on the jobs'
    estimated work, slice by slice; None where the play-through ran out of steps."""
    pool: dict[int, list] = {
        job.job_id: [job.service, job.submitted_at, job.work_left] for job in waiting
    }
    starts: dict[int, float | None] = dict.fromkeys(pool)
    # (time the worker is free, worker id, the job it hands back then or None)
    events: list[tuple[float, int, int | None]] = []
    for slot in slots:
        if not slot.available and slot.job_id is None:
            continue
        if slot.job_id is None:
            events.append((now, slot.worker_id, None))
            continue
        pool[slot.job_id] = [slot.attained(now), 0.0, slot.work_left]
        left = max(0.0, slot.slice_started + SLICE_SECONDS - now)
        ends = now if slot.pausing else now + min(slot.work_left, left)
        events.append((ends, slot.worker_id, slot.job_id))
    busy = {slot.job_id for slot in slots if slot.job_id is not None}
    heapq.heapify(events)
    pending = set(starts)
    steps = 0
    while events and pending and steps < ESTIMATE_STEPS:
        steps += 1
        at, worker, handed_back = heapq.heappop(events)
        busy.discard(handed_back)
        candidates = [
            job
            for job, (_, _, left) in pool.items()
            if job not in busy and (left > 0 or job in pending)
        ]
        if not candidates:
            continue
        chosen = min(candidates, key=lambda job: (band(pool[job][0]), pool[job][1], job))
        if chosen in pending:
            starts[chosen] = at - now
            pending.discard(chosen)
        run = min(max(pool[chosen][2], 0.0), SLICE_SECONDS)
        pool[chosen][0] += run
        pool[chosen][2] -= run
        busy.add(chosen)
        heapq.heappush(events, (at + run, worker, chosen))
    return starts


def should_retire(
    jobs_started: int, budget: int, jobs_waiting: bool, another_replacing: bool
) -> bool:
    """Whether a free worker that has started `jobs_started` jobs is replaced now.

    Its replacement imports TensorFlow for seconds of a core: a used-up worker goes on while
    jobs wait (a class pressing Train together), and while another worker is being replaced
    (one at a time, so a new run always finds one ready), up to `RECYCLE_GRACE_FACTOR` times
    its budget, which bounds the memory a worker gathers.
    """
    if jobs_started < budget:
        return False
    if jobs_started >= budget * RECYCLE_GRACE_FACTOR:
        return True
    return not jobs_waiting and not another_replacing
