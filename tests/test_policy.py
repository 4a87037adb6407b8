"""The scheduling policy with a fake clock: least attained service, slices, starvation, waits, recycling."""

from __future__ import annotations

from dataclasses import dataclass, replace

from model.jobs.policy import (
    RECYCLE_GRACE_FACTOR,
    SERVICE_BANDS,
    SLICE_SECONDS,
    STARVATION_SECONDS,
    Slot,
    Waiting,
    band,
    estimate_waits,
    queue_order,
    replaced_soon,
    schedule,
    should_retire,
    takes_over,
    wear,
)

SHAPE = ("a",)
OTHER = ("b",)


def waiting(job_id: int, service: float = 0.0, at: float = 0.0, **changes) -> Waiting:
    """A job waiting since `at`; one with service has had a slice, one without is a newcomer."""
    fields = {"waiting_since": at, "shape": SHAPE, "work_left": 100.0, "slices": int(service != 0)}
    return Waiting(job_id, service, at, **(fields | changes))


def running(worker_id: int, job_id: int, service: float, started: float, **changes) -> Slot:
    fields = {"work_left": 100.0} | changes
    return Slot(worker_id, job_id=job_id, service=service, slice_started=started, **fields)


def test_free_workers_take_the_least_trained_jobs_first() -> None:
    jobs = [waiting(1, service=50.0), waiting(2, service=0.0, at=5.0), waiting(3, at=1.0)]
    plan = schedule(jobs, [Slot(10), Slot(11)], now=10.0)
    assert [job_id for job_id, _ in plan.assign] == [3, 2]
    assert plan.preempt == ()


def test_a_free_worker_that_traced_the_shape_or_last_ran_the_job_is_preferred() -> None:
    slots = [Slot(1, shapes=(OTHER,)), Slot(2, shapes=(SHAPE,)), Slot(3)]
    assert schedule([waiting(7)], slots, now=0.0).assign == ((7, 2),)
    assert schedule([waiting(7, last_worker=3)], slots, now=0.0).assign == ((7, 3),)


def test_a_short_job_arriving_behind_long_ones_preempts_the_most_trained_after_its_slice() -> None:
    slots = [
        running(1, 100, service=300.0, started=9.0),
        running(2, 101, service=20.0, started=0.0),
    ]
    new = waiting(5, at=10.0)
    # Worker 1's slice began 1 s ago: not yet; worker 2's is over, so it is the one paused.
    plan = schedule([new], slots, now=10.0)
    assert plan.preempt == (2,) and plan.assign == ()
    # Once both slices are over, the job with the most service is the one paused.
    later = schedule([new], slots, now=9.0 + SLICE_SECONDS)
    assert later.preempt == (1,)


def test_nothing_is_preempted_for_a_job_that_has_had_more_or_when_nothing_waits() -> None:
    slots = [running(1, 100, service=5.0, started=0.0)]
    assert schedule([waiting(2, service=50.0, at=0.0)], slots, now=10.0).preempt == ()
    assert schedule([], slots, now=1000.0).preempt == ()


def test_the_plan_says_when_to_look_again() -> None:
    slots = [running(1, 100, service=10.0, started=4.0)]
    plan = schedule([waiting(2, at=4.5)], slots, now=5.0)
    assert plan.preempt == () and plan.wake_at == 4.0 + SLICE_SECONDS


def test_a_job_about_to_finish_is_left_to_finish() -> None:
    slots = [running(1, 100, service=10.0, started=0.0, work_left=SLICE_SECONDS / 2)]
    plan = schedule([waiting(2, at=0.0)], slots, now=5.0)
    assert plan.preempt == ()


def test_a_worker_handing_its_job_back_is_counted_for_the_first_waiting_job() -> None:
    slots = [
        running(1, 100, service=50.0, started=0.0, handing_back=True),
        running(2, 101, service=40.0, started=0.0),
    ]
    assert schedule([waiting(3, at=9.0)], slots, now=10.0).preempt == ()
    two = schedule([waiting(3, at=9.0), waiting(4, at=9.5)], slots, now=10.0)
    assert two.preempt == (2,)


def test_equal_jobs_take_turns_only_as_they_leave_a_band() -> None:
    """Two equal long jobs on one worker, played forward with a fake clock."""
    service = {1: 0.0, 2: 0.0}
    on_worker, waiting_job, started, now = 1, 2, 0.0, 0.0
    turns = []
    while now < 60.0:
        now += 0.25  # an epoch
        slot = running(1, on_worker, service[on_worker], started)
        plan = schedule([waiting(waiting_job, service[waiting_job])], [slot], now)
        if plan.preempt:
            service[on_worker] += now - started
            on_worker, waiting_job, started = waiting_job, on_worker, now
            turns.append(now)
    # Job 1 leaves the first band and yields to job 2; once job 2 catches up, both are in one
    # band and the one running goes on until it leaves that band too (or job 1 starves),
    # rather than a turn every slice.
    first, second = SERVICE_BANDS[:2]
    assert turns == [first, first + second]
    assert service == {1: first, 2: second}


def test_a_class_pressing_train_together_goes_first_come_first_served() -> None:
    slots = [
        running(1, 100, service=0.0, started=0.0, work_left=3.0),
        running(2, 101, service=0.0, started=0.0, work_left=3.0),
    ]
    class_runs = [waiting(job_id, at=0.01 * job_id, work_left=4.0) for job_id in range(3, 31)]
    plan = schedule(class_runs, slots, now=SLICE_SECONDS + 0.1)
    assert plan.preempt == ()
    assert [job.job_id for job in queue_order(class_runs, now=5.0)] == list(range(3, 31))
    # A run that trained a while and was paused waits behind them in its own band.
    paused = waiting(99, service=SERVICE_BANDS[0] + 1.0, at=0.0)
    assert queue_order([paused, *class_runs], now=5.0)[-1] == paused
    assert band(-1.0) < band(0.0) < band(SERVICE_BANDS[0]) < band(SERVICE_BANDS[-1])


def test_a_job_waiting_too_long_goes_first_however_much_it_has_had() -> None:
    hog = waiting(1, service=500.0, at=0.0)
    newcomer = waiting(2, service=0.0, at=STARVATION_SECONDS)
    assert [job.job_id for job in queue_order([hog, newcomer], now=10.0)] == [2, 1]
    starving_now = STARVATION_SECONDS + 1
    assert [job.job_id for job in queue_order([hog, newcomer], now=starving_now)] == [1, 2]
    # It even preempts a job with less service than its own once that one's slice is over.
    slots = [running(1, 100, service=1.0, started=0.0)]
    assert schedule([hog], slots, now=starving_now).preempt == (1,)


def test_a_cancelled_job_leaves_the_plan() -> None:
    jobs = [waiting(1, at=0.0), waiting(2, at=1.0)]
    slots = [running(1, 100, service=50.0, started=0.0)]
    assert schedule(jobs, slots, now=10.0).preempt == (1,)
    # Job 1 was cancelled: job 2 alone still gets the worker, and its position moves up.
    remaining = [job for job in jobs if job.job_id != 1]
    assert [job.job_id for job in queue_order(remaining, now=10.0)] == [2]
    assert schedule(remaining, slots, now=10.0).preempt == (1,)


def test_estimated_waits_play_the_policy_forward() -> None:
    slots = [running(1, 100, service=600.0, started=0.0, work_left=900.0)]
    first = waiting(2, at=1.0, work_left=2.0, preparation=5.0)
    second = waiting(3, at=2.0, work_left=2.0, preparation=5.0)
    waits = estimate_waits([first, second], slots, now=1.0)
    # The long job's slice ends at 1.5 s; job 2 runs to its end (job 3 is in its band, and job
    # 2 makes a training set too costly to taste), then 3.
    assert waits[2] == SLICE_SECONDS - 1.0
    assert waits[3] == SLICE_SECONDS - 1.0 + 2.0
    # Newcomers that may taste: job 2 trains its first epoch (0.1 s), then job 3 starts.
    first, second = waiting(2, at=1.0, work_left=2.0, taste=0.1), waiting(3, at=2.0, taste=0.1)
    waits = estimate_waits([first, second], slots, now=1.0)
    assert waits[2] == SLICE_SECONDS - 1.0
    assert abs(waits[3] - (SLICE_SECONDS - 1.0 + 0.1)) < 1e-9
    assert estimate_waits([waiting(4, work_left=5.0)], [Slot(1)], now=0.0) == {4: 0.0}
    # No worker at all (still importing TensorFlow): unknown.
    assert estimate_waits([waiting(4)], [Slot(1, available=False)], now=0.0) == {4: None}


def test_a_class_pressing_train_together_trains_everyone_s_first_epoch_first() -> None:
    class_runs = [waiting(job_id, at=0.01 * job_id, work_left=1.0) for job_id in range(1, 29)]
    plan = schedule(class_runs, [Slot(1), Slot(2)], now=0.5)
    # The first two train one epoch each and hand their workers back: 26 newcomers wait.
    assert plan.assign == ((1, 1), (2, 2)) and plan.tastes == (1, 2)
    assert plan.preempt == ()
    # The last two newcomers, with none behind them, train on.
    assert schedule(class_runs[-2:], [Slot(1), Slot(2)], now=0.5).tastes == ()
    # A tasted run waits behind every newcomer, in front of longer runs; a stopped one is first.
    tasted = waiting(1, service=0.05, at=0.01)
    long_run = waiting(90, service=SERVICE_BANDS[0] + 1.0, at=0.0)
    stopped = waiting(91, service=-1.0, at=0.0, slices=1)
    order = queue_order([long_run, tasted, *class_runs[1:], stopped], now=1.0)
    assert [job.job_id for job in order] == [91, *range(2, 29), 1, 90]


def test_a_tasted_run_goes_on_where_it_trained_and_a_worker_replaced_soon_gives_no_tastes() -> None:
    tasted = [
        waiting(job_id, service=0.05, at=0.01 * job_id, last_worker=job_id % 2 + 1)
        for job_id in (1, 2)
    ]
    # Worker 1 takes job 2 (it trained there), although job 1 was pressed first.
    assert schedule(tasted, [Slot(1)], now=1.0).assign == ((2, 1),)
    # Newcomers behind: a worker about to be replaced trains its newcomer through, and is not
    # asked to pause for one, since the paused run would go on elsewhere.
    class_runs = [waiting(job_id, at=0.01 * job_id, work_left=1.0) for job_id in range(3, 9)]
    plan = schedule(class_runs, [Slot(1, replaced_soon=True), Slot(2)], now=1.0)
    assert plan.assign == ((3, 1), (4, 2)) and plan.tastes == (4,)
    slot = running(
        1, 100, service=0.5, started=0.9, work_left=1.0, slice_epochs=3, replaced_soon=True
    )
    assert schedule(class_runs, [slot], now=1.0).preempt == ()


def test_a_newcomer_takes_a_first_band_run_s_worker_after_its_current_epoch() -> None:
    newcomer = waiting(5, at=10.0)
    began = running(1, 100, service=0.5, started=9.9, work_left=1.0, slice_epochs=3)
    assert schedule([newcomer], [began], now=10.0).preempt == (1,)
    # Not before it has trained an epoch of its slice (it would hand back nothing), nor when it
    # is about to finish, nor when its training set is costly to make again elsewhere.
    for slot in (
        running(1, 100, service=0.5, started=9.9, work_left=1.0),
        running(1, 100, service=0.5, started=9.9, work_left=0.1, slice_epochs=3),
        running(1, 100, service=0.5, started=9.9, work_left=1.0, slice_epochs=3, preparation=9.0),
    ):
        assert schedule([newcomer], [slot], now=10.0).preempt == ()
    # A run that has had a slice waits for a first-band run to finish, as before.
    assert schedule([waiting(6, service=0.2, at=9.0)], [began], now=10.0).preempt == ()
    # A long run keeps its slice: a newcomer takes its worker once the slice is over.
    long_run = running(1, 100, service=300.0, started=9.9, work_left=500.0, slice_epochs=1)
    assert schedule([newcomer], [long_run], now=10.0).preempt == ()
    assert schedule([newcomer], [long_run], now=9.9 + SLICE_SECONDS).preempt == (1,)
    # A newcomer too short to taste (or costly to set up) trains through.
    plan = schedule([waiting(7, work_left=0.1), newcomer], [Slot(1)], now=10.0)
    assert plan.assign == ((7, 1),) and plan.tastes == ()


@dataclass
class Training:
    """A job on a worker in the play-through below."""

    job_id: int
    # When its first epoch begins: the switch to it takes a while.
    started: float
    epochs: int = 0
    # Its slice ends after its first epoch, or it was asked to pause.
    taste: bool = False
    pausing: bool = False


def test_a_class_played_forward_sees_every_first_epoch_soon_and_switches_once_each() -> None:
    """28 runs of 100 epochs of 10 ms pressed at once on two workers, with a fake clock."""
    epoch, epochs, switch = 0.01, 100, 0.02
    left = {job_id: epochs for job_id in range(1, 29)}
    service = dict.fromkeys(left, 0.0)
    slices = dict.fromkeys(left, 0)
    first_epoch_at: dict[int, float] = {}
    workers: dict[int, Training | None] = {1: None, 2: None}
    now = finished = 0.0
    while any(left.values()):
        on_workers = {job.job_id for job in workers.values() if job is not None}
        queued = [
            waiting(job_id, service[job_id], 0.001 * job_id, work_left=left[job_id] * epoch)
            for job_id in left
            if left[job_id] and job_id not in on_workers
        ]
        queued = [replace(job, slices=slices[job.job_id], taste=epoch) for job in queued]
        slots = [
            Slot(worker_id)
            if job is None
            else running(
                worker_id,
                job.job_id,
                service[job.job_id],
                job.started,
                work_left=left[job.job_id] * epoch,
                slice_epochs=job.epochs,
                handing_back=job.taste or job.pausing,
            )
            for worker_id, job in workers.items()
        ]
        plan = schedule(queued, slots, now)
        for job_id, worker_id in plan.assign:
            workers[worker_id] = Training(job_id, now + switch, taste=job_id in plan.tastes)
            slices[job_id] += 1
        for worker_id in plan.preempt:
            workers[worker_id].pausing = True
        now += epoch
        for worker_id, job in workers.items():
            if job is None or job.started > now:
                continue
            left[job.job_id] -= 1
            job.epochs += 1
            first_epoch_at.setdefault(job.job_id, now)
            if not left[job.job_id] or job.taste or job.pausing:
                service[job.job_id] += now - job.started
                finished = now
                workers[worker_id] = None
    # Everyone's first epoch within the class's switches, each run paused once at most, and
    # the class done within those switches of the ideal.
    assert max(first_epoch_at.values()) < 14 * (epoch + switch) + 2 * epoch
    assert max(slices.values()) <= 2
    assert finished < 28 * (epochs * epoch + switch) / 2 + 14 * (epoch + switch)


def test_the_scheduler_and_the_play_through_agree_on_who_takes_a_worker_at_a_slice_end() -> None:
    # `schedule` works out when a running job may be paused; `estimate_waits` asks at each
    # slice's end. Over every band edge and switching cost, both must give the same answer.
    now = 1000.0
    agreed = {True: 0, False: 0}
    for service in (0.0, -1.0, 0.5, 2.9, 3.0, 10.0, 29.0, 31.0, 200.0, 301.0):
        for attained in (1.6, 2.9, 3.0, 3.1, 29.5, 30.5, 299.0, 301.0, 5000.0):
            for work_left in (0.1, 0.5, 1.0, SLICE_SECONDS, 100.0):
                for preparation in (0.0, 1.0):
                    job = waiting(1, service=service, at=now)
                    slot = running(
                        10,
                        2,
                        service=attained - SLICE_SECONDS,
                        started=now - SLICE_SECONDS,
                        work_left=work_left,
                        preparation=preparation,
                        slice_epochs=1,
                    )
                    preempted = schedule([job], [slot], now).preempt == (10,)
                    rule = takes_over(service, job.slices == 0, attained, work_left, preparation)
                    assert preempted == rule, (service, attained, work_left, preparation)
                    agreed[rule] += 1
    assert agreed[True] > 0 and agreed[False] > 0


def test_a_used_up_worker_is_replaced_only_when_nothing_waits_and_none_is_being_replaced() -> None:
    budget = 10
    assert not should_retire(9, budget, jobs_waiting=False, another_replacing=False)
    assert should_retire(10, budget, jobs_waiting=False, another_replacing=False)
    # A class pressing Train together: the replacement's import would take the CPU they need.
    assert not should_retire(10, budget, jobs_waiting=True, another_replacing=False)
    # One replacement at a time, so that a new run always finds a worker ready.
    assert not should_retire(10, budget, jobs_waiting=False, another_replacing=True)


def test_a_used_up_worker_goes_on_at_most_to_its_grace_budget() -> None:
    budget = 10
    limit = budget * RECYCLE_GRACE_FACTOR
    assert not should_retire(limit - 1, budget, jobs_waiting=True, another_replacing=True)
    assert should_retire(limit, budget, jobs_waiting=True, another_replacing=True)
    assert replaced_soon(limit - 1, budget) and not replaced_soon(limit - 1.1, budget)


def test_a_worker_wears_by_the_networks_it_builds_more_than_by_its_jobs() -> None:
    assert wear(builds=1, jobs=1) < 2 <= wear(builds=2, jobs=2)
    assert wear(builds=1, jobs=30) == 2.0
