"""Who trains next: least attained service first, in slices (Tiresias), as pure functions of the state.

No processes, threads or clock here: the job manager passes the waiting jobs, the workers and
`now`, and carries out the returned plan. A job that has trained the least so far goes first,
so a new run starts within a slice even when long runs hold every worker, and the long runs
go on whenever nothing shorter waits. As in Tiresias, the service is counted in bands
(`SERVICE_BANDS`): jobs in one band go first come, first served, so thirty equal runs pressed
at once do not take turns (each turn a pause, and perhaps a trace on another worker). Only
their first epochs interleave: a run that has never trained goes before every run that has,
and while others like it wait, it trains one epoch and hands its worker back (a "taste"), so
every learner of a class pressing Train together sees a first epoch within seconds.
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
# A worker used up its budget (memory it gathers) goes on at most this many times as long
# while jobs wait or another worker is being replaced (see `should_retire`).
RECYCLE_GRACE_FACTOR = 2
# The budget counts what a worker keeps for good, in network builds: a network shape new to
# it keeps about 35 MB (TensorFlow's traced graphs), a job on a traced shape about 1 MB.
JOB_WEAR = 1 / 30
# A run with less estimated work left than this finishes rather than hand its worker over for
# another's first epoch: the switch (and the learner's page noticing it) costs about as much.
TASTE_LEFT_SECONDS = 0.3
# Nor is a run whose training set takes longer than this to make (augmentation): a worker
# keeps only a couple of such sets, and on another worker the run would make its own again.
TASTE_PREPARATION_SECONDS = 0.5
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
    # Slices it has had (0: a newcomer), the estimated seconds of its first epoch (with its
    # start: tracing, making the training set) and of making its training set alone.
    slices: int = 0
    taste: float = 0.0
    preparation: float = 0.0


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
    # Hands its job back at the current epoch's end: asked to pause, or training a taste.
    handing_back: bool = False
    # Network shapes it has traced (see `shape_key`), and whether it is idle and not compiling.
    shapes: tuple[tuple, ...] = ()
    settled: bool = True
    # Epochs the running job has trained in this slice, and seconds of making its training set.
    slice_epochs: int = 0
    preparation: float = 0.0
    # The next job it starts reaches its grace budget, after which it is replaced as soon as it
    # is free (`should_retire`): it takes no taste, since the job would go on elsewhere and
    # trace its network again there.
    replaced_soon: bool = False

    def attained(self, now: float) -> float:
        return self.service + max(0.0, now - self.slice_started)


@dataclass(frozen=True)
class Plan:
    """Jobs to send to free workers, workers to pause, and when to look again at the latest.

    The jobs in `tastes` train one epoch of their slice, then hand their worker back.
    """

    assign: tuple[tuple[int, int], ...] = ()
    preempt: tuple[int, ...] = ()
    wake_at: float | None = None
    tastes: tuple[int, ...] = ()


def starving(job: Waiting, now: float) -> bool:
    return now - job.waiting_since >= STARVATION_SECONDS


def band(service: float) -> int:
    """The service band: 0 below the first bound, and so on; -1 for a job asked to stop
    (its last slice only ends it, so it goes first)."""
    if service < 0:
        return -1
    return sum(service >= bound for bound in SERVICE_BANDS)


def newcomer(job: Waiting) -> bool:
    """Never trained (and not asked to stop): its first epoch goes before others' later ones."""
    return job.slices == 0 and job.service >= 0


def tier(service: float, is_newcomer: bool) -> int:
    """-1 for a job asked to stop, 0 for a newcomer, then 1 + its service band."""
    if service < 0:
        return -1
    return 0 if is_newcomer else 1 + band(service)


def _switches_cheaply(work_left: float, preparation: float) -> bool:
    """Worth handing a worker over for a newcomer's first epoch (see `TASTE_*`)."""
    return work_left >= TASTE_LEFT_SECONDS and preparation <= TASTE_PREPARATION_SECONDS


def may_taste(job: Waiting) -> bool:
    """Whether the job may train just one epoch while other newcomers wait."""
    return newcomer(job) and _switches_cheaply(job.work_left, job.preparation)


def yields_to_newcomers(service: float, work_left: float, preparation: float) -> bool:
    """Whether a running job hands its worker over after its epoch for a newcomer's first: it
    is in the first band (a class's run) and switches cheaply."""
    return band(service) == 0 and _switches_cheaply(work_left, preparation)


def takes_over(
    service: float,
    is_newcomer: bool,
    running_service: float,
    running_work_left: float,
    running_preparation: float,
) -> bool:
    """Whether a waiting job (not starving) takes a running job's worker when that job's slice
    ends, its service counted to then: a newcomer from a run that yields to newcomers, else a
    job of a lower band from one with a slice of work left.

    `estimate_waits` plays this rule forward; `schedule` applies it as a time (see
    `_preemptible_at`), and a test holds the two to the same answers.
    """
    if is_newcomer and yields_to_newcomers(running_service, running_work_left, running_preparation):
        return True
    return running_work_left >= SLICE_SECONDS and band(service) < band(running_service)


def priority(job: Waiting, now: float) -> tuple:
    """Sort key: starving jobs first, then newcomers, then the lowest service band, then the
    earliest submitted."""
    return (not starving(job, now), tier(job.service, newcomer(job)), job.submitted_at, job.job_id)


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


def _at_home(order: list[Waiting], slot: Slot, now: float) -> Waiting:
    """The job `slot` takes: the queue's first, or one of equal rank (not newcomers) that last
    trained there or whose network it has traced, so that it goes on without a trace."""
    head = order[0]
    if newcomer(head) or head.last_worker == slot.worker_id:
        return head
    rank = priority(head, now)[:2]
    peers = [job for job in order if priority(job, now)[:2] == rank]
    for preferred in (
        [job for job in peers if job.last_worker == slot.worker_id],
        [job for job in peers if job.shape in slot.shapes],
    ):
        if preferred:
            return preferred[0]
    return head


def _preemptible_at(job: Waiting, slot: Slot, now: float) -> float:
    """When `slot`'s job may be paused for `job`: its slice is over and it has had more, or
    at once for a newcomer's first epoch if it is in the first band (and has trained an epoch
    of its slice, so that it goes on where it paused).

    A job expected to finish within a slice is left to finish (never, as `math.inf`).
    """
    if (
        newcomer(job)
        and yields_to_newcomers(slot.attained(now), slot.work_left, slot.preparation)
        and slot.slice_epochs > 0
        and not slot.replaced_soon
    ):
        # A run of the first band hands its worker over after its current epoch.
        return now
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
    """Free workers take the jobs with the least service (newcomers for one epoch while other
    newcomers wait); then workers whose slice is over and whose job has had more than a
    waiting one are asked to pause."""
    order = queue_order(waiting, now)
    free = [slot for slot in slots if slot.available and slot.job_id is None]
    assign: list[tuple[int, int]] = []
    sent: list[tuple[Waiting, Slot]] = []
    while order and free:
        slot = _best_slot(order[0], free)
        job = _at_home(order, slot, now)
        order.remove(job)
        free.remove(slot)
        assign.append((job.job_id, slot.worker_id))
        sent.append((job, slot))
    tasting: tuple[int, ...] = ()
    if any(newcomer(job) for job in order):
        tasting = tuple(
            job.job_id for job, slot in sent if may_taste(job) and not slot.replaced_soon
        )
    # Workers handing their jobs back, and those just sent a taste, take the first jobs waiting.
    handing_back = sum(slot.handing_back for slot in slots) + len(tasting)
    running = [slot for slot in slots if slot.job_id is not None and not slot.handing_back]
    preempt: list[int] = []
    wake_at: float | None = None
    for job in order[handing_back:]:
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
    return Plan(tuple(assign), tuple(preempt), wake_at, tasting)


@dataclass
class _Played:
    """A job in `estimate_waits`' play-through."""

    service: float
    submitted_at: float
    work_left: float
    newcomer: bool = False
    # Its first slice while other newcomers wait (inf: it does not taste).
    taste: float = math.inf
    preparation: float = 0.0

    def rank(self, job_id: int) -> tuple:
        return (tier(self.service, self.newcomer), self.submitted_at, job_id)


def estimate_waits(
    waiting: list[Waiting], slots: list[Slot], now: float
) -> dict[int, float | None]:
    """Seconds until each waiting job (re)starts, by playing the policy forward on the jobs'
    estimated work, slice by slice; None where the play-through ran out of steps."""
    pool = {
        job.job_id: _Played(
            job.service,
            job.submitted_at,
            job.work_left,
            newcomer(job),
            job.taste if may_taste(job) else math.inf,
            job.preparation,
        )
        for job in waiting
    }
    starts: dict[int, float | None] = dict.fromkeys(pool)
    first_newcomer = next((job for job in waiting if newcomer(job)), None)
    # (time the worker is free, worker id, the job it hands back then or None)
    events: list[tuple[float, int, int | None]] = []
    for slot in slots:
        if not slot.available and slot.job_id is None:
            continue
        if slot.job_id is None:
            events.append((now, slot.worker_id, None))
            continue
        pool[slot.job_id] = _Played(
            slot.attained(now), 0.0, slot.work_left, preparation=slot.preparation
        )
        left = max(0.0, slot.slice_started + SLICE_SECONDS - now)
        ends = now + min(slot.work_left, left)
        if slot.handing_back or (
            first_newcomer is not None and _preemptible_at(first_newcomer, slot, now) <= now
        ):
            ends = now
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
            for job, played in pool.items()
            if job not in busy and (played.work_left > 0 or job in pending)
        ]
        if not candidates:
            continue
        chosen = min(candidates, key=lambda job: pool[job].rank(job))
        if handed_back in candidates and not _overtakes(pool, chosen, handed_back):
            chosen = handed_back
        if chosen in pending:
            starts[chosen] = at - now
            pending.discard(chosen)
        played = pool[chosen]
        run = min(max(played.work_left, 0.0), SLICE_SECONDS)
        if played.newcomer and any(pool[job].newcomer for job in candidates if job != chosen):
            run = min(run, played.taste)
        played.service += run
        played.work_left -= run
        played.newcomer = False
        busy.add(chosen)
        heapq.heappush(events, (at + run, worker, chosen))
    return starts


def _overtakes(pool: dict[int, _Played], waiting_id: int, running_id: int) -> bool:
    """Whether the waiting job takes the running one's worker at the end of its slice."""
    waiting, running = pool[waiting_id], pool[running_id]
    return takes_over(
        waiting.service, waiting.newcomer, running.service, running.work_left, running.preparation
    )


def wear(builds: int, jobs: int) -> float:
    """A worker's use of its budget: the networks it built and the jobs it began."""
    return builds + jobs * JOB_WEAR


def replaced_soon(worn: float, budget: int) -> bool:
    """Whether a worker's next job may be its last, whatever waits (see `should_retire`)."""
    return worn + 1 >= budget * RECYCLE_GRACE_FACTOR


def should_retire(worn: float, budget: int, jobs_waiting: bool, another_replacing: bool) -> bool:
    """Whether a free worker that has worn `worn` of its budget (`wear`) is replaced now.

    Its replacement imports TensorFlow for seconds of a core: a used-up worker goes on while
    jobs wait (a class pressing Train together), and while another worker is being replaced
    (one at a time, so a new run always finds one ready), up to `RECYCLE_GRACE_FACTOR` times
    its budget, which bounds the memory a worker gathers.
    """
    if worn < budget:
        return False
    if worn >= budget * RECYCLE_GRACE_FACTOR:
        return True
    return not jobs_waiting and not another_replacing
