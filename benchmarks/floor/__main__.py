"""How far is the relay from what the rate limits allow? A proven floor beside the relay.

    python -m benchmarks.floor [--quick] [--scenario SUBSTRING ...]

The entry point: it picks the scenarios, runs the floors and the relay
(`benchmarks.floor.run`), and prints one row a scenario, the notes that explain the
columns, and any PROBLEM a run revealed (a broken platform rule, the relay's reports
disagreeing with the messages, or the relay below the floor, which would disprove it).
"""

from __future__ import annotations

import argparse
import logging
import math
import statistics
from collections.abc import Sequence

from benchmarks.floor.fairness import BUSY, CHANNELS, LATER, run_fairness
from benchmarks.floor.run import HOLD, PLATFORMS, Floors, RelayRun, Scenario, floors, run_relay, scenarios
from benchmarks.floor.workload import EPS, QUANTILE, quantile


def _s(seconds: float, *, down: bool = False) -> str:
    """Seconds to 10 ms; `down` truncates, so a printed floor never claims more than proven."""
    if math.isnan(seconds):
        return "-"
    if math.isinf(seconds):
        return "inf"
    return f"{math.floor(seconds * 100 + EPS) / 100:.2f}s" if down else f"{seconds:.2f}s"


def _ratio(relay: float, floor: float) -> str:
    if floor <= 0 or math.isinf(floor):
        return "-"
    return f"{relay / floor:.2f}"


COLUMNS = (
    ("platform", 17),
    ("K", 4),
    ("channels", 10),
    ("floor p95", 11),
    ("floor p95", 11),
    ("floor p95", 12),
    ("relay p95", 11),
    ("ratio", 7),
    ("ratio", 7),
    ("relay max", 11),
    ("first token p50", 17),
    ("exact", 8),
    ("429s", 6),
)
UNDER = ("", "", "", "(trickle)", "(promise)", "(platform)", "", "", "(prom.)", "", "", "", "")


def _line(cells: Sequence[str]) -> str:
    first = f"{cells[0]:<{COLUMNS[0][1]}}"
    return first + "".join(f"{cell:>{width}}" for cell, (_, width) in zip(cells[1:], COLUMNS[1:], strict=False))


def row(scenario: Scenario, floor: Floors, run: RelayRun) -> str:
    first = statistics.median(run.first) if run.first else math.nan
    return _line(
        (
            scenario.platform,
            str(scenario.answers),
            "one" if scenario.channels == 1 else str(scenario.channels),
            _s(floor.trickle, down=True),
            _s(floor.promise, down=True),
            _s(floor.platform, down=True),
            _s(run.p95),
            _ratio(run.p95, floor.trickle),
            _ratio(run.p95, floor.promise),
            _s(max(run.stale) if run.stale else math.nan),
            _s(first),
            f"{run.exact}/{run.answers}",
            str(run.refused),
        )
    )


FOOTER = """\
floor p95 = a PROVEN LOWER BOUND on token-staleness p95 from relaxations (each write
  shows, within S, only tokens emitted in the S before it; counting: writes are capped by
  the limits' capacity up to the last emission + S; timeline: messages open one after
  another as their limit allows, and each stretch of the stream needs writes of its own;
  windows, on Discord: the edit windows are placed, each window's calls counted once),
  NOT an offline optimum: the best possible schedule may be above it. Rounded down to
  10 ms. (trickle) uses trickle's configured budgets (chat.update 45/min burst 8,
  chat.postMessage 0.9/s burst 4, chat.appendStream 90/min burst 16, chat.startStream
  and chat.stopStream 18/min burst 3, a start also drawn on the post budget) and its
  0.5 s between two edits of one message (TRICKLE_EDIT_INTERVAL);
  (platform) Slack's 50/min burst 10, 1/s burst 5, 100/min burst 20, 20/min burst 5 for
  startStream and stopStream, as in the fake Slack; Discord's 5 per 5 s windows on both
  sides (trickle follows Discord's headers). Slack schedules keep an answer in one
  message; native ones may also fall back on chat.update. (promise) is the floor under
  trickle's limits of the schedules that keep its placeholder promise: every message
  opens within {hold:g} s of when its limit allows it, so an opening shows no text written
  after that (the relay's own openings are measured against it, below). ratio = relay
  p95 / floor p95 (trickle); ratio (prom.) = relay p95 / floor p95 (promise).
relay = the real core.relay.answer.Answer with RelayConfig() defaults, on a virtual clock against
  simulated platforms enforcing the platform limits; staleness per token is what the relay
  reports through text_shown (checked against the messages' own history); first token =
  first token emitted -> shown (median over answers); exact = answers whose final messages
  hold exactly the model's text; 429s = writes the platform refused.
workload: per answer, first token 0.5 s after the question, 400 tokens at 50/s, all K
  answers asked at the same instant. Deterministic (virtual clock): one run per scenario."""


def main(argv: Sequence[str] | None = None) -> None:
    # Named as it is run: argparse would otherwise call it "__main__.py".
    parser = argparse.ArgumentParser(prog="python -m benchmarks.floor", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="K = 1 and 10 only")
    parser.add_argument(
        "--scenario",
        action="append",
        default=[],
        metavar="SUBSTRING",
        help="keep scenarios whose name (e.g. slack-edit-k10-1ch) contains it; repeatable",
    )
    args = parser.parse_args(argv)
    chosen = scenarios(quick=args.quick, only=args.scenario)
    fairness = not args.scenario or any(w in "fairness" for w in args.scenario)
    if not chosen and not fairness:
        parser.error("no scenario matches --scenario " + " ".join(args.scenario))
    # The relay logs each retry; the table and the notes below count them instead.
    logging.getLogger("trickle").setLevel(logging.ERROR)
    print(_line([name for name, _ in COLUMNS]))
    print(_line(UNDER))
    wall = simulated = late = 0.0
    notes = []
    for scenario in chosen:
        floor = floors(scenario)
        run = run_relay(scenario)
        wall += run.wall
        simulated += run.simulated
        late = max(late, run.opening_lateness)
        print(row(scenario, floor, run), flush=True)
        if run.failures:
            failed = ", ".join(f"{count} x {code}" for code, count in sorted(run.failures.items()))
            notes.append(f"note: {scenario.name}: platform calls failed and were retried: {failed}")
        if run.errors:
            notes.append(f"PROBLEM {scenario.name}: the platform saw {', '.join(sorted(set(run.errors)))}")
        if not math.isclose(quantile(run.visible, QUANTILE), run.p95, abs_tol=1e-6):
            notes.append(f"PROBLEM {scenario.name}: the relay's staleness reports disagree with the messages")
        if run.p95 < min(floor.trickle, floor.platform):
            notes.append(f"PROBLEM {scenario.name}: relay p95 below the floor: the bound is wrong")
        if run.opening_lateness > HOLD:
            notes.append(f"PROBLEM {scenario.name}: the relay broke the placeholder promise the floor assumes")
        elif run.p95 < floor.promise:
            notes.append(f"PROBLEM {scenario.name}: relay p95 below the promise's floor: the bound is wrong")
    if fairness:
        print()
        print(
            f"fairness: one person has {BUSY} answers streaming over {CHANNELS} channels; another asks once,"
            f" {LATER:g} s later, in the first"
        )
        print(f"{'platform':<18}{'asked -> first shown':>21}{'their final after last':>24}{'exact':>8}{'429s':>6}")
        for platform in PLATFORMS:
            fair = run_fairness(platform)
            print(
                f"{platform:<18}{_s(fair.first_visible):>21}{_s(fair.final_after_last):>24}"
                f"{f'{fair.exact}/{fair.answers}':>8}{fair.refused:>6}",
                flush=True,
            )
    print()
    print(FOOTER.format(hold=HOLD))
    print(f"relay openings: at most {late:.2f} s after their limit allowed them (the promise: {HOLD:g} s)")
    print(f"({len(chosen)} scenarios: {simulated:.0f} s of simulated time in {wall:.1f} s of wall time)")
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
