"""How far is the relay from what the rate limits allow? A proven floor beside the relay.

    python -m benchmarks.floor [--quick] [--scenario SUBSTRING ...]

For each scenario (K answers asked at the same instant, in one channel or spread over ten,
on `slack-edit`, `slack-native` or `discord-mentions`) it prints:

(a) a PROVEN LOWER BOUND on token-staleness p95 that no schedule of writes can beat under
    the same limits: relaxations, not an offline optimum, counting writes (`bound`),
    placing them in time (`timeline`) and, where Discord's fixed windows pace the edits,
    placing the windows (`windows`), bisected in `proof`, under trickle's configured
    limits and under the platform's (`limits`);
(b) the real relay (`core.relay.answer.Answer`, `RelayConfig()` defaults) run against the same
    limits on a virtual clock (`run`), through simulated surfaces (`surfaces`) onto
    simulated platforms (`platforms`);
(c) both, their ratio (relay p95 / floor under trickle's limits), the relay's worst
    staleness, first-token visibility (first token emitted -> shown, median over answers),
    whether every answer ended with exactly the model's text, and the writes the
    simulated platform refused with a 429 (must be 0).

Every answer streams the same `workload`. One module a job, so the proof can be read
without the simulation and the simulation without the table; nothing is imported here,
so importing the package does no work.
"""
