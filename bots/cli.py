"""The `trickle` command: `ask`, `slack`, `discord`, `playground`, `serve`.

Everything is built here, in the entry point, and passed down: no module creates a
client, reads the environment or starts a loop when it is imported.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from core.settings import Settings, SettingsError

USAGE_HINT = 'usage: trickle ask "your question"   (or: echo "your question" | trickle ask -)'

EXIT_OK = 0
EXIT_MODEL_ERROR = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trickle",
        description="A team AI assistant whose answers stream into Slack and Discord messages.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    ask = commands.add_parser("ask", help="stream an answer to the terminal")
    ask.add_argument("prompt", nargs="*", help='the question; "-" reads it from stdin')
    ask.add_argument("--model", help="model name (default: TRICKLE_MODEL)")
    ask.add_argument("--no-stream", action="store_true", help="print the answer only once it is complete")

    commands.add_parser("slack", help="run the Slack bot")
    commands.add_parser("discord", help="run the Discord bot")
    playground = commands.add_parser("playground", help="run the local web playground")
    playground.add_argument("--host", default="127.0.0.1")
    playground.add_argument("--port", type=int, default=8080)
    commands.add_parser("serve", help="run every configured platform, /healthz and /metrics")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.load()
    except SettingsError as exc:
        print(f"trickle: bad setting: {exc}", file=sys.stderr)
        return EXIT_USAGE

    from bots.logs import configure_logging

    configure_logging(settings, quiet=args.command == "ask")
    if args.command == "ask":
        from bots.terminal import ask

        prompt = _read_prompt(args.prompt)
        if prompt is None:
            print(USAGE_HINT, file=sys.stderr)
            return EXIT_USAGE
        return asyncio.run(ask(settings, prompt, model=args.model, stream=not args.no_stream))
    return _run_service(args, settings)


def _run_service(args: argparse.Namespace, settings: Settings) -> int:
    from bots.services import run_service

    try:
        return asyncio.run(run_service(args.command, settings, args))
    except SettingsError as exc:
        print(f"trickle: bad setting: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_OK


def _read_prompt(words: Sequence[str]) -> str | None:
    """The prompt from the arguments (or stdin for `-`); None when it is blank."""
    if list(words) == ["-"]:
        text = sys.stdin.read()
    else:
        text = " ".join(words)
    return text if text.strip() else None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
