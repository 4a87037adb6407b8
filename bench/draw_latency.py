"""Draw page speed: cold start vs importing TensorFlow, and canvas-to-answer vs Keras `predict`.

Run: `python bench/draw_latency.py` (CHROMIUM_PATH picks the browser; Debian's chromium by
default, else Playwright's own). Both comparisons are measured side by side in one run:

- Cold start (median of 5, alternating with the import): from launching `streamlit run app.py` until a browser that opened `/draw` (a
  learner's bookmark or a teacher's link) shows the canvas, against `python -c "import
  tensorflow"`. Target ≤ 0.5x.
- Latency: the server-side work from the canvas's RGBA array to the answer (pipeline, NumPy
  forward pass, distance to the training images), median over many drawings (MNIST test
  images drawn large on a canvas, plus varied pen drawings), against the bundled model's
  `model.predict` on the same 400 inputs. Target: under 10 ms median and ≤ 0.1x.

- Round trip: the same Chromium draws alternately a 1 and a 0 with the mouse on the Draw page
  and on a bare page holding only the same canvas and an `st.metric` (`bench/bare_canvas.py`,
  served by its own server), one stroke here, one there; from mouse-up to the new value on
  screen (timed in the page: the first animation frame that shows it), medians of
  ROUNDTRIP_STROKES each. Target ≤ 1.1x. The measured strokes start once both servers are
  idle: the Draw page's server starts its training pool after the first page view, whose
  workers keep both cores busy for about ten seconds (TensorFlow's import and warm-up, once
  per server). The strokes drawn meanwhile are printed on their own line.

The last line is `roundtrip/bare: R`. `--skip-cold-start` leaves out the slowest part.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from PIL import Image, ImageDraw

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from model.data import load_bundled, load_splits  # noqa: E402
from model.inference import TrainingNeighbours, read_drawing  # noqa: E402
from model.jobs import configured_workers  # noqa: E402
from model.preprocess import CANVAS_SIDE, canvas_from_image28  # noqa: E402
from model.storage import PRETRAINED_DIR, load_pretrained  # noqa: E402

# Read before tests.conftest is imported: it defaults ZOL_WORKERS to 1 for the test suite.
SERVER_WORKERS = configured_workers()

from tests.conftest import CHROMIUM_ARGS, chromium_path, start_server, stop_server  # noqa: E402
from ui.job_pool import PREWARM_DELAY_SECONDS  # noqa: E402

DRAWINGS = 300
PREDICT_CALLS = 100
WARMUP_CALLS = 5
START_TIMEOUT = 180.0
# The cold start counts until the server's health check answers: poll it closely.
HEALTH_POLL = 0.02
# Cold starts and imports alternate, and each ratio uses medians: one sample on a shared
# 2-core machine swings by a second either way.
COLD_ROUNDS = 5
CANVAS = "[data-testid=stBidiComponentIsolated] canvas.upper-canvas"
ROUNDTRIP_STROKES = 12
# Strokes on each page before measuring: the first ones pay for imports and caches.
ROUNDTRIP_WARMUP = 2
# Measured strokes wait until both servers are idle: under a tenth of a core over a second.
IDLE_CPU = 0.1
IDLE_WINDOW = 1.0
BARE_PAGE = "bench/bare_canvas.py"
# What each page's metric shows for an empty canvas: the Draw page's dash, the bare page's 0.
CLEARED = {"draw": "–", "bare": "0"}
METRIC_VALUE = "[data-testid=stMetricValue]"
CLEAR_BUTTON = "Reset canvas & history"
# Installed before each stroke: on mouse-up, note the time, then check every animation frame
# until the metric shows something other than `previous`.
ARM_TIMER = """(previous) => {
  window.__roundtrip = null;
  document.addEventListener("mouseup", () => {
    const up = performance.now();
    const check = () => {
      const shown = document.querySelector("METRIC_VALUE");
      if (shown && shown.textContent !== previous) {
        window.__roundtrip = {ms: performance.now() - up, value: shown.textContent};
      } else {
        requestAnimationFrame(check);
      }
    };
    requestAnimationFrame(check);
  }, {capture: true, once: true});
}""".replace("METRIC_VALUE", METRIC_VALUE)
STROKES = {
    "1": [(140, 35 + 210 * step / 12) for step in range(13)],
    "0": [
        (140 + 70 * np.sin(2 * np.pi * step / 36), 140 - 105 * np.cos(2 * np.pi * step / 36))
        for step in range(37)
    ],
}


def serve(script: str) -> tuple[subprocess.Popen, str]:
    """`streamlit run SCRIPT` with the server's own worker count, polled closely for health."""
    return start_server(script=script, env={"ZOL_WORKERS": str(SERVER_WORKERS)}, poll=HEALTH_POLL)


def time_tensorflow_import() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import tensorflow"], check=True, capture_output=True)
    return time.perf_counter() - started


def time_cold_start() -> float:
    """Seconds from `streamlit run` to the Draw page's canvas on screen in Chromium."""
    from playwright.sync_api import sync_playwright

    chromium = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium or None, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.set_default_timeout(START_TIMEOUT * 1000)
        started = time.perf_counter()
        process, url = serve("app.py")
        try:
            page.goto(f"{url}/draw")
            # Not `expect`: its retries back off to a second apart, which would add up to a
            # second to the measurement.
            page.locator(CANVAS).wait_for(state="visible")
            seconds = time.perf_counter() - started
        finally:
            stop_server(process)
            browser.close()
    return seconds


def stroke_roundtrip(page, digit: str, cleared: str) -> float:
    """Clear the canvas, draw `digit` in one stroke; ms from mouse-up to the new value shown."""
    value = page.locator(METRIC_VALUE)
    page.get_by_role("button", name=CLEAR_BUTTON).click()
    page.wait_for_function(
        "([selector, cleared]) => document.querySelector(selector)?.textContent === cleared",
        arg=[METRIC_VALUE, cleared],
    )
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(
        state="attached"
    )
    previous = value.inner_text()
    canvas = page.locator(CANVAS)
    box = canvas.bounding_box()
    points = STROKES[digit]
    page.evaluate(ARM_TIMER, previous)
    page.mouse.move(box["x"] + points[0][0], box["y"] + points[0][1])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(box["x"] + x, box["y"] + y, steps=2)
    page.mouse.up()
    page.wait_for_function("() => window.__roundtrip !== null")
    result = page.evaluate("() => window.__roundtrip")
    return float(result["ms"])


def time_roundtrips() -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Mouse-up to answer on the Draw page and on the bare page ("draw", "bare"), strokes
    interleaved, once both servers are idle; and the strokes drawn while the pool started."""
    from playwright.sync_api import sync_playwright

    chromium = chromium_path()
    app, app_url = serve("app.py")
    bare, bare_url = serve(BARE_PAGE)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium or None, args=CHROMIUM_ARGS
            )
            pages = {}
            for name, url in (("draw", f"{app_url}/draw"), ("bare", bare_url)):
                page = browser.new_page(viewport={"width": 1280, "height": 1000})
                page.set_default_timeout(START_TIMEOUT * 1000)
                page.goto(url)
                page.locator(CANVAS).wait_for(state="visible")
                page.locator(CANVAS).scroll_into_view_if_needed()
                pages[name] = page
            # The first strokes pay for imports and caches; the next ones, until both servers
            # are idle, share the two cores with the training pool's start-up (TensorFlow's
            # import and the lesson network's warm-up, once per server).
            starting: dict[str, list[float]] = {"draw": [], "bare": []}
            stroke = 0
            pool_started_by = time.monotonic() + PREWARM_DELAY_SECONDS + IDLE_WINDOW
            while (
                stroke < ROUNDTRIP_WARMUP
                or time.monotonic() < pool_started_by
                or not (idle(app) and idle(bare))
            ):
                stroke_both(pages, stroke, starting if stroke >= ROUNDTRIP_WARMUP else None)
                stroke += 1
            samples: dict[str, list[float]] = {"draw": [], "bare": []}
            for measured in range(ROUNDTRIP_STROKES):
                stroke_both(pages, stroke + measured, samples)
            browser.close()
    finally:
        stop_server(app)
        stop_server(bare)
    return samples, starting


def stroke_both(pages: dict, stroke: int, samples: dict[str, list[float]] | None) -> None:
    """One stroke on each page (a 1, then a 0 next time), noted in `samples` unless None."""
    digit = "1" if stroke % 2 == 0 else "0"
    for name, page in pages.items():
        page.bring_to_front()
        milliseconds = stroke_roundtrip(page, digit, CLEARED[name])
        if samples is not None:
            samples[name].append(milliseconds)


def cpu_seconds(root_pid: int) -> float:
    """CPU time used so far by a process and all its descendants (Linux's /proc)."""
    parents, used = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        used[int(entry.name)] = int(fields[11]) + int(fields[12])
    tree, grew = {root_pid}, True
    while grew:
        children = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= children
        grew = bool(children)
    return sum(used.get(pid, 0) for pid in tree) / os.sysconf("SC_CLK_TCK")


def idle(process: subprocess.Popen) -> bool:
    """Whether a server and its workers used under IDLE_CPU of a core over IDLE_WINDOW s."""
    before = cpu_seconds(process.pid)
    time.sleep(IDLE_WINDOW)
    return cpu_seconds(process.pid) - before < IDLE_CPU * IDLE_WINDOW


def format_seconds(samples: list[float]) -> str:
    return ", ".join(f"{sample:.2f}" for sample in samples)


def pen_drawing(rng: np.random.Generator) -> np.ndarray:
    """A 0 (a loop) or a 1 (a line) of random size, place, slant and pen width."""
    image = Image.new("RGBA", (CANVAS_SIDE, CANVAS_SIDE), (0, 0, 0, 255))
    pen = ImageDraw.Draw(image)
    height = rng.uniform(90, 240)
    cx, cy = rng.uniform(height / 2, CANVAS_SIDE - height / 2, size=2)
    width = int(rng.integers(6, 41))
    if rng.random() < 0.5:
        rx = height * rng.uniform(0.3, 0.5)
        pen.ellipse(
            [cx - rx, cy - height / 2, cx + rx, cy + height / 2], outline="white", width=width
        )
    else:
        dx = np.tan(rng.uniform(-0.4, 0.4)) * height / 2
        pen.line(
            [(cx + dx, cy - height / 2), (cx - dx, cy + height / 2)], fill="white", width=width
        )
    return np.asarray(image)


def drawings() -> list[np.ndarray]:
    dataset = load_bundled()
    rng = np.random.default_rng(0)
    rows = rng.choice(len(dataset.images), DRAWINGS // 2, replace=False)
    mnist = [canvas_from_image28(dataset.images[row]) for row in rows]
    return mnist + [pen_drawing(rng) for _ in range(DRAWINGS - len(mnist))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-cold-start", action="store_true")
    options = parser.parse_args()
    if not options.skip_cold_start:
        measure_cold_start()

    saved = load_pretrained()
    splits = load_splits()
    neighbours = TrainingNeighbours.calibrated(splits.train.x, splits.validation.x)
    canvases = drawings()
    readings, draw_seconds = [], []
    for rgba in canvases:
        started = time.perf_counter()
        reading = read_drawing(rgba, saved.weights, neighbours)
        draw_seconds.append(time.perf_counter() - started)
        readings.append(reading)
    inputs = [r.steps.features for r in readings if r.answer is not None]

    import keras

    model = keras.models.load_model(PRETRAINED_DIR / "model.keras")
    for features in inputs[:WARMUP_CALLS]:
        model.predict(features[None, :], verbose=0)
    predict_seconds, agree = [], 0
    for reading in readings[:PREDICT_CALLS]:
        if reading.answer is None:
            continue
        started = time.perf_counter()
        probability = float(model.predict(reading.steps.features[None, :], verbose=0)[0, 0])
        predict_seconds.append(time.perf_counter() - started)
        agree += abs(probability - reading.answer.probability) < 1e-4

    draw_median = statistics.median(draw_seconds) * 1000
    predict_median = statistics.median(predict_seconds) * 1000
    print(f"drawings answered: {len(inputs)} of {len(canvases)}")
    print(f"NumPy and Keras probabilities agree on {agree} of {len(predict_seconds)} inputs")
    print(f"canvas RGBA → answer: median {draw_median:.2f} ms (target < 10 ms)")
    print(f"keras model.predict: median {predict_median:.2f} ms")
    print(f"draw/predict: {draw_median / predict_median:.3f}", flush=True)

    samples, starting = time_roundtrips()
    if starting["draw"]:
        print(
            "while the Draw page's training pool starts: Draw page median "
            f"{statistics.median(starting['draw']):.0f} ms of {format_ms(starting['draw'])}; "
            f"bare page {statistics.median(starting['bare']):.0f} ms"
        )
    draw_trips, bare_trips = samples["draw"], samples["bare"]
    draw_trip, bare_trip = statistics.median(draw_trips), statistics.median(bare_trips)
    print(f"mouse-up → answer, Draw page: median {draw_trip:.0f} ms of {format_ms(draw_trips)}")
    print(
        f"mouse-up → value, bare canvas page: median {bare_trip:.0f} ms of {format_ms(bare_trips)}"
    )
    print(f"roundtrip/bare: {draw_trip / bare_trip:.3f}")


def measure_cold_start() -> None:
    tf_imports, cold_starts = [], []
    for _ in range(COLD_ROUNDS):
        tf_imports.append(time_tensorflow_import())
        cold_starts.append(time_cold_start())
    tf_import, cold_start = statistics.median(tf_imports), statistics.median(cold_starts)
    print(f"import tensorflow: median {tf_import:.2f} s of {format_seconds(tf_imports)}")
    print(
        f"cold start to the Draw page's canvas: median {cold_start:.2f} s of "
        f"{format_seconds(cold_starts)} (target ≤ 0.5x)"
    )
    print(f"coldstart/tf_import: {cold_start / tf_import:.3f}", flush=True)


def format_ms(samples: list[float]) -> str:
    return " ".join(f"{sample:.0f}" for sample in samples)


if __name__ == "__main__":
    main()
