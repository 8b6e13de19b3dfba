"""The best schedule a search finds for ten answers in one Discord channel: the other side.

    python -m benchmarks.floor.search [--hold SECONDS] [--steps N] [--seeds N]

The floor (`benchmarks.floor.proof`) is a lower bound on staleness p95; a schedule that
keeps every rule is an upper bound on the best possible. Between them lies the optimum.
This searches (simulated annealing, seeded, so a run repeats) over explicit schedules for
the ten-mention Discord scenario: per answer, when its message is created (showing all
it has by then) and when it is edited. A schedule keeps Discord's rules as the simulated
platform has them (five creates and, apart, five edits per window, a window opening with
its first call, fresh at the question), every edit after its create, and a last write at
or after the last token (the final). `--hold` adds trickle's promise: the k-th message of
the channel is created no later than `hold` seconds after its window could first open
(k-th create <= 5 floor((k-1) / 5) + hold), so nobody waits long for a placeholder.

The figure is what the search found, not a proven optimum: the optimum may be lower.
"""

from __future__ import annotations

import argparse
import bisect
import math
import random
from collections.abc import Sequence

from benchmarks.floor.workload import QUANTILE, Workload, nearest_rank

Schedule = list[tuple[float, list[float]]]  # per answer: (create, edits)

LIMIT, PERIOD = 5, 5.0  # Discord's window, creates and edits counted apart


def _fits_windows(calls: Sequence[float]) -> bool:
    ends, used = -math.inf, 0
    for at in sorted(calls):
        if at < 0:
            return False
        if at >= ends:
            ends, used = at + PERIOD, 0
        used += 1
        if used > LIMIT:
            return False
    return True


def keeps_the_rules(schedule: Schedule, workload: Workload, hold: float | None) -> bool:
    creates = sorted(create for create, _ in schedule)
    if not _fits_windows(creates) or not _fits_windows([e for _, edits in schedule for e in edits]):
        return False
    if hold is not None and any(at > PERIOD * (k // LIMIT) + hold for k, at in enumerate(creates)):
        return False
    return all(all(e >= c for e in edits) and max([c, *edits]) >= workload.last for c, edits in schedule)


def p95(schedule: Schedule, workload: Workload) -> float:
    """Staleness p95 over every token: each write shows everything emitted by then."""
    stale = []
    for create, edits in schedule:
        writes = sorted([create, *edits])
        for index in range(workload.tokens):
            emitted = workload.emitted_at(index)
            shown = bisect.bisect_left(writes, emitted)
            stale.append(writes[shown] - emitted if shown < len(writes) else math.inf)
    stale.sort()
    return stale[nearest_rank(len(stale), QUANTILE)]


def _on_grid(at: float) -> float:
    """Times in steps of 20 ms (a token's interval), never before the question."""
    return round(max(0.0, at) * 50) / 50


def search(
    workload: Workload, *, answers: int = 10, hold: float | None = None, steps: int = 30_000, seed: int = 1
) -> tuple[float, Schedule]:
    """Simulated annealing from the plain schedule (create as the windows allow, one final each)."""
    rng = random.Random(seed)
    current: Schedule = [
        (PERIOD * (k // LIMIT) + workload.first, [workload.last + PERIOD * (k // LIMIT)]) for k in range(answers)
    ]
    cost = p95(current, workload) if keeps_the_rules(current, workload, hold) else math.inf
    best, best_cost = current, cost
    temperature = 1.0
    for _ in range(steps):
        trial = [(c, list(e)) for c, e in current]
        i = rng.randrange(answers)
        create, edits = trial[i]
        move = rng.random()
        if move < 0.3:
            create = _on_grid(create + rng.gauss(0, 1.0))
        elif move < 0.55 and edits:
            j = rng.randrange(len(edits))
            edits[j] = _on_grid(edits[j] + rng.gauss(0, 1.0))
        elif move < 0.8:
            edits.append(_on_grid(rng.uniform(0, workload.last + 3 * PERIOD)))
        elif edits:
            edits.pop(rng.randrange(len(edits)))
        trial[i] = (create, edits)
        if not keeps_the_rules(trial, workload, hold):
            continue
        new = p95(trial, workload)
        if new <= cost or rng.random() < math.exp(-(new - cost) / temperature):
            current, cost = trial, new
            if cost < best_cost:
                best, best_cost = trial, cost
        temperature = max(0.01, temperature * 0.9998)
    return best_cost, best


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.floor.search", description=__doc__.splitlines()[0])
    parser.add_argument("--hold", type=float, default=None, help="placeholder promise, seconds (trickle: 1.5)")
    parser.add_argument("--steps", type=int, default=60_000)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args(argv)
    workload = Workload()
    found = [search(workload, hold=args.hold, steps=args.steps, seed=seed) for seed in range(1, args.seeds + 1)]
    cost, schedule = min(found, key=lambda f: f[0])
    print(f"best p95 found over {args.seeds} seeds: {cost:.2f}s (each: {', '.join(f'{c:.2f}' for c, _ in found)})")
    for create, edits in sorted(schedule):
        print(f"  create {create:5.2f}s  edits {', '.join(f'{e:.2f}' for e in sorted(edits)) or '-'}")


if __name__ == "__main__":
    main()
