"""trickle's platform-neutral core: sources, relay, pacing, state.

It imports no chat platform and nothing from `bots/` (see docs/architecture.md).
"""
