"""The `trickle` command: `ask`, `slack`, `discord`, `playground`, `serve`.

Everything is built here, in the entry point, and passed down: no module creates a
client, reads the environment or starts a loop when it is imported.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import sys
from collections.abc import Sequence

from bots.settings import Settings
from core.settings import SettingsError

USAGE_HINT = 'usage: trickle ask "your question"   (or: echo "your question" | trickle ask -)'

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # the shell's convention for Ctrl-C


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
        prompt = _read_prompt(args.prompt)
        if prompt is None:
            print(USAGE_HINT, file=sys.stderr)
            return EXIT_USAGE
        return _run_ask(settings, prompt, args)
    return _run_service(args, settings)


def _run_ask(settings: Settings, prompt: str, args: argparse.Namespace) -> int:
    from bots.terminal import ask

    if isinstance(sys.stdout, io.TextIOWrapper):
        # A terminal that cannot show a character gets a `?`, not a traceback.
        sys.stdout.reconfigure(errors="replace")
    try:
        return asyncio.run(ask(settings, prompt, model=args.model, stream=not args.no_stream))
    except BrokenPipeError:
        # The reader (`| head`) has gone: nobody is left to tell. Point stdout at
        # /dev/null so that the interpreter's last flush does not complain either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


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
        # Bytes that are not UTF-8 become U+FFFD rather than a traceback.
        text = sys.stdin.buffer.read().decode("utf-8", errors="replace")
    else:
        text = " ".join(words)
    return text if text.strip() else None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
