"""trickle's platform-neutral core: sources, relay, pacing, state. It imports no chat platform (see docs/architecture.md)."""
