"""The classroom benchmark's headless learner against the real server: train, check, draw a 1."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from bench.class_headless import HeadlessTabs
from bench.class_sessions import SessionResult, train_query
from bench.headless import HeadlessSession
from model.config import TrainConfig


def run(coroutine):
    """Run it in a thread of its own: Playwright's sync API (the browser tests) leaves an
    event loop running in the main thread."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, asyncio.wait_for(coroutine, 240)).result()


def test_a_headless_learner_trains_sees_its_own_results_and_draws_a_one(server_url):
    config = TrainConfig(hidden_units=(12, 15), seed=7)
    result = SessionResult(0, config.hidden_units)

    async def learner() -> None:
        tab = await HeadlessTabs(server_url).open_train(train_query(config.hidden_units, 7), config)
        try:
            await tab.press_train(result)
            # Only the page's own fragment reruns, sent on the timers it asks for, can
            # bring the results: nothing else is sent after the press.
            await tab.wait_for_results(result, 180)
            await tab.check_own_results(config, result)
            await tab.draw_a_one(config, result)
        finally:
            await tab.close()

    run(learner())
    assert result.seconds is not None and result.seconds > 0
    assert result.leaks == []
    assert result.prediction == "1"


def test_two_headless_sessions_have_labs_of_their_own(server_url):
    async def two() -> tuple[str, str]:
        async with HeadlessSession(server_url) as first, HeadlessSession(server_url) as second:
            await first.open("train", "units=9")
            await second.open("train", "units=9")
            return first.query_string, second.query_string

    first, second = run(two())
    lab = [part for part in first.split("&") if part.startswith("lab=")]
    assert lab and lab[0] not in second


def test_what_the_page_does_not_offer_is_refused_with_the_reason(server_url):
    async def attempts() -> list[str]:
        refusals = []
        async with HeadlessSession(server_url) as session:
            await session.open("train")
            for attempt in (
                session.click("Launch the rockets"),
                session.click("Stop"),
                session.go_to("nowhere"),
            ):
                try:
                    await attempt
                except LookupError as refused:
                    refusals.append(str(refused))
        return refusals

    assert run(attempts()) == [
        "no button 'Launch the rockets' on the page",
        "the button 'Stop' is disabled",
        "no page 'nowhere' in the app's navigation",
    ]
