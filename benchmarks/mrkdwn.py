"""Markdown-to-mrkdwn cost per edit of a Slack answer.

    python -m benchmarks.mrkdwn                          # this tree's `to_mrkdwn`
    python -m benchmarks.mrkdwn --baseline /tmp/old      # and another tree's, side by side

Every interim edit of a streaming answer converts the answer so far, so the figures are
per conversion of a realistic 3,500-character answer (headings, lists, bold and italic,
a code block, links, a quote): (a) the whole text once, from cold; (b) the streaming
pattern, each prefix at 50-character steps in order, as the edits of one answer would
see them; its per-edit figure is the run's total over its number of edits. Medians of
several runs. `--baseline DIR` times the `bots` package under DIR (e.g. a copy of
`bots/slack` from before a change, with empty `__init__.py` files) in a child process.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

ANSWER = """## Streaming answers into Slack

Streaming an LLM answer into Slack is mostly a question of **pacing**: the model writes tokens
far faster than Slack accepts edits, and `chat.update` is rate limited *per workspace*, not
per channel. See the [rate limit docs](https://api.slack.com/docs/rate-limits) for the tiers
and the [chat.update reference](https://api.slack.com/methods/chat.update) for its errors.

### What to do

1. **Buffer the text.** Keep the latest full text and send it only when the pacer allows;
   a pending edit is *replaced*, never queued behind another one.
2. **Escape everything.** Slack reads `<!channel>` and `<@U123>` as commands, so `&`, `<`
   and `>` in model output must be escaped before it is sent.
3. **Split long answers.** Messages over about 4,000 characters fail with `msg_too_long`:
   - split at paragraph boundaries where possible;
   - close an open code fence at the end of a page and reopen it on the next;
   - keep ***each page*** readable on its own.
4. ~~Poll for new tokens.~~ Read the stream as it arrives instead.

Here is a minimal loop in Python:

```python
async def stream(answer, message, pacer):
    text = ""
    async for chunk in answer:
        text += chunk
        if pacer.ready():
            await message.edit(text + " ▌")
    await message.edit(text)  # the final edit always goes out
```

A few things to watch out for:

- The *thread* matters: replies stay in the thread the question was asked in, and a
  mention inside a followed thread arrives twice (`app_mention` and `message`).
- Slack's mrkdwn has no headings and no nested bold, so `**bold**` becomes `*bold*` and a
  heading becomes a bold line; __underscores__ work too.
- Bare links such as https://example.com/docs_page?a=1&b=2 stay as typed; a Markdown link
  like [the guide](https://example.com/guide_(v2)) becomes a Slack link.

> Note: Discord has a hard limit of 2,000 characters per message, which is much lower,
> and it parses mentions on every edit unless `allowed_mentions` says otherwise.

| Platform | Edit limit | Message size |
|----------|------------|--------------|
| Slack    | ~50/min    | ~4,000 chars |
| Discord  | 5/5s       | 2,000 chars  |

---

### When an edit fails

Slack answers a burst of edits with `429 Too Many Requests` and a `Retry-After` header in
whole seconds. The *right* response is to wait that long and then send the **latest** text,
not every text that piled up meanwhile:

1. Read `Retry-After`; if it is missing, back off for one second.
2. Keep accepting tokens while waiting, so nothing from the model is lost.
3. Send one edit with everything so far, then go back to the normal pace.

If the edit fails for another reason (`message_not_found`, `channel_not_found`,
`msg_too_long`), stop editing that message: post the rest as a new reply in the thread and
say so in a short _italic_ notice, e.g. _(continued below)_. Never retry a `4xx` other
than `429` blindly, and never let a failed edit leave the message saying "thinking..."
for ever: the final edit runs in a `finally` block.

### Checklist

- [x] pace edits per workspace
- [x] escape `&`, `<`, `>`
- [ ] split pages at paragraphs
  * nested: reopen fences with their language
  * nested: keep quotes intact

In short: **buffer**, *pace*, escape, split, and always finish the message, even when the
model fails half way. If you want, I can sketch the pager next, with tests for each case,
or a fake Slack server to run them against.
"""
STEP = 50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs per figure (default 15)")
    parser.add_argument("--baseline", metavar="DIR", help="also time the `bots` under DIR")
    parser.add_argument("--tree", metavar="DIR", help=argparse.SUPPRESS)  # the child's side
    args = parser.parse_args()
    if args.tree:
        print(json.dumps(_measure(_converter(args.tree), args.runs)))
        return
    rows = [("this tree", _measure(_converter(None), args.runs))]
    if args.baseline:
        child = [sys.executable, "-m", "benchmarks.mrkdwn", "--tree", args.baseline]
        child += ["--runs", str(args.runs)]
        done = subprocess.run(child, capture_output=True, check=True)
        rows.insert(0, ("baseline " + args.baseline, json.loads(done.stdout)))
    edits = len(_prefixes())
    print(f"answer: {len(ANSWER):,} chars; streaming: {edits} edits at {STEP}-char steps")
    print(f"medians of {args.runs} runs")
    print(f"{'':<32}{'whole text, once':>18}{'per streaming edit':>20}{'all edits':>12}")
    for name, figures in rows:
        whole, per_edit, total = (figures[k] * 1000 for k in ("whole", "per_edit", "total"))
        print(f"{name:<32}{whole:>15.3f} ms{per_edit:>17.3f} ms{total:>9.1f} ms")
    if len(rows) == 2:
        old, new = rows[0][1], rows[1][1]
        whole, per_edit = new["whole"] / old["whole"], new["per_edit"] / old["per_edit"]
        print(f"{'ratio this/baseline':<32}{whole:>18.2f}{per_edit:>20.2f}")


def _converter(tree: str | None) -> Callable[[str], str]:
    """`to_mrkdwn` from this tree, or from the `bots` package under `tree`."""
    if tree:
        sys.path.insert(0, tree)
    from bots.slack.formatting import to_mrkdwn

    return to_mrkdwn


def _measure(convert: Callable[[str], str], runs: int) -> dict[str, float]:
    """Medians, in seconds: one whole conversion from cold, and one streaming run's edits."""
    cold = _forget(convert)
    prefixes = _prefixes()
    whole, streams = [], []
    for _ in range(runs):
        cold()
        started = time.perf_counter()
        convert(ANSWER)
        whole.append(time.perf_counter() - started)
        cold()
        started = time.perf_counter()
        for prefix in prefixes:
            convert(prefix)
        streams.append(time.perf_counter() - started)
    total = statistics.median(streams)
    return {"whole": statistics.median(whole), "per_edit": total / len(prefixes), "total": total}


def _prefixes() -> list[str]:
    """The texts the edits of one streaming answer convert, the last being the whole."""
    return [ANSWER[:end] for end in range(STEP, len(ANSWER) + STEP, STEP)]


def _forget(convert: Callable[[str], str]) -> Callable[[], None]:
    """What empties a converter's memo of rendered pieces, if it keeps one.

    Reaching into its module is deliberate: a run must start as a new answer does, with
    none of its pieces converted yet (another answer's pieces never match).
    """
    memo = getattr(sys.modules[convert.__module__], "_render_piece", None)
    return memo.cache_clear if memo is not None else lambda: None


if __name__ == "__main__":
    main()
