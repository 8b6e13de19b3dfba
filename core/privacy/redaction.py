"""Personal data taken out of text before the model sees it (TRICKLE_REDACT).

Teams paste customer tickets, logs and CSV rows into chat. With redaction on, the model's
provider never receives the addresses, numbers and cards in them, while the model still
learns *that* something was there (`[email]`, `[phone]`, `[card]`), which is usually all
an answer needs. Each kind errs towards leaving text alone unless its shape is
unmistakable, because a redacted date or version number makes a worse answer:

- `email`: `local@domain.tld`, the TLD in letters, so `lodash@4.17.21` is a package, and
  image names like `icon@2x.png` stay too.
- `phone`: a shape, never a bare run of digits (an id, a timestamp): `+` and 8 to 15
  digits (`+44 20 7946 0958`, `+1 (555) 123-4567`); North American groups
  (`(555) 123-4567`, `555-123-4567`, `555.123.4567`); or a national number from its
  trunk `0` in spaced or dashed groups of 9 to 12 digits (`020 7946 0958`). Dates, times,
  versions, ISO timestamps and Slack's `1700000000.000123` have none of these shapes.
- `card`: 13 to 19 digits, together or in the groups cards are printed in (4-4-4-4,
  4-6-5...), starting 2 to 6 as the card networks do, and passing the Luhn check; a
  number failing it is left alone. The first digit keeps out millisecond timestamps and
  today's Discord ids, which start with 1.
- `iban`: upper-case country, check digits and account, passing the mod-97 check.
- `ipv4`: dotted quads, except loopback and `0.0.0.0`, which identify nobody.

Code is redacted like prose. Fenced blocks and inline code are where logs, configs and
CSV rows are pasted, so they carry the most personal data, and a rule that spared them
would let anyone send an address past redaction by wrapping it in backticks. Only the
data goes; the backticks stay, so the Markdown is unchanged.

Chat mentions (Slack `<@U123|ada>`, `<#C123|general>`, `<!here>`; Discord `<@123...>`,
`<#123...>`, `<:emoji:123...>`, `<t:1700000000:R>`) are never touched: they are ids the
model needs to refer to people and places, and a Discord id could pass the card check.
Links (`<mailto:a@b.com|a@b.com>`) are not mentions: their addresses go.

Pure: text in, text and counts out. Redacting twice changes nothing more than once: passes
repeat until one finds nothing.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

__all__ = ["KINDS", "Redactor", "parse_redact"]

KINDS = ("email", "phone", "card", "iban", "ipv4")

# A mention's id is kept as it is (it is not personal data, and altered it would ping or
# link nothing); only an id-shaped id counts, so `<!|jane@example.com>` hides nothing.
# Its label (`<@U1|label>`) is text someone typed, and is redacted like any other.
_MENTION = re.compile(
    r"<(?:[@#](?:!|&)?[A-Z0-9]+|![a-z]+(?:\^[A-Za-z0-9^:._-]*)?|/[\w -]+:\d+|a?:\w+:\d+|t:\d+(?::[a-zA-Z])?)"
    r"(?=[|>])"
)

# The local part is tried only from where a run of its characters starts: tried from
# every character of a long run, it would take time in the square of the run's length.
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,63})(?![\w-])"
)
_FILE_SUFFIXES = frozenset({"png", "jpg", "jpeg", "gif", "svg", "webp"})  # icon@2x.png

# Not inside a longer number, word, path or id; not the start of one either.
_START = r"(?<![\w/.@#&+-])"
_END = r"(?!\w|[.-]\d)"

# Digit groups always between separators (but after a bracketed area code): with optional
# ones, a long run of digits could be split into groups in too many ways to try.
_PHONE_INTL = re.compile(r"(?<![\w+])\+[1-9]\d{0,14}(?:[ .-]?\(\d{1,4}\)[ .-]?\d{1,6})?(?:[ .-]\d{1,6}){0,6}(?!\w)")
_PHONE_NANP = re.compile(_START + r"(?:1[ .-])?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}" + _END)
_PHONE_TRUNK = re.compile(_START + r"0\d{1,4}(?:[ -]\d{2,8}){1,4}" + _END)

_CARD = re.compile(
    _START
    + r"(?:[2-6]\d{12,18}"  # together
    + r"|[2-6]\d{3}([ -])\d{4}\1\d{4}\1(?:\d{4}\1\d{1,3}|\d{1,4})"  # 4-4-4-4(-3)
    + r"|[2-6]\d{3}([ -])\d{6}\2\d{4,5})"  # 4-6-5 (Amex), 4-6-4 (Diners)
    + _END
)

_IBAN = re.compile(r"(?<!\w)[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?!\w)")

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(rf"(?<![\w.]){_OCTET}(?:\.{_OCTET}){{3}}(?!\w|\.\d)")


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _is_email(match: re.Match[str]) -> bool:
    return match.group(1).lower() not in _FILE_SUFFIXES


def _is_phone(match: re.Match[str]) -> bool:
    return 8 <= len(_digits(match.group())) <= 15


def _is_national_phone(match: re.Match[str]) -> bool:
    return 9 <= len(_digits(match.group())) <= 12


def _is_card(match: re.Match[str]) -> bool:
    return _luhn(_digits(match.group()))


def _is_iban(match: re.Match[str]) -> bool:
    compact = match.group().replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _is_public_ipv4(match: re.Match[str]) -> bool:
    text = match.group()
    return not text.startswith("127.") and text != "0.0.0.0"


@dataclass(frozen=True, slots=True)
class _Rule:
    kind: str
    pattern: re.Pattern[str]
    check: Callable[[re.Match[str]], bool]


# In this order: an address's digits are gone before the number rules look, and an IBAN's
# before the card rule could take its tail for a card.
_RULES = (
    _Rule("email", _EMAIL, _is_email),
    _Rule("iban", _IBAN, _is_iban),
    _Rule("card", _CARD, _is_card),
    _Rule("phone", _PHONE_INTL, _is_phone),
    _Rule("phone", _PHONE_NANP, _is_phone),
    _Rule("phone", _PHONE_TRUNK, _is_national_phone),
    _Rule("ipv4", _IPV4, _is_public_ipv4),
)


def parse_redact(value: str) -> tuple[str, ...]:
    """The kinds a comma-separated TRICKLE_REDACT names, in a fixed order; empty is off.

    A kind misspelt must stop the start: quietly ignored, it would send the very data the
    operator meant to keep back.
    """
    named = [part.strip().lower() for part in value.split(",") if part.strip()]
    unknown = [name for name in dict.fromkeys(named) if name not in KINDS]
    if unknown:
        raise ValueError(
            f"unknown kind{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
            f"(accepted: comma-separated, from {', '.join(KINDS)}; e.g. email,phone,card)"
        )
    return tuple(kind for kind in KINDS if kind in named)


@dataclass(frozen=True, slots=True)
class Redactor:
    """Replaces the chosen kinds of personal data with `[kind]`; see the module docstring.

    Built once from the settings. With no kinds it returns text as it is, so an operator
    who never set TRICKLE_REDACT pays nothing and gets exactly what was written.
    """

    kinds: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = sorted(set(self.kinds) - set(KINDS))
        if unknown:
            raise ValueError(f"unknown redaction kinds {unknown} (accepted: {', '.join(KINDS)})")

    @property
    def enabled(self) -> bool:
        return bool(self.kinds)

    def redact(self, text: str) -> str:
        """`text` with the chosen kinds replaced."""
        return self.redact_counting(text)[0]

    def redact_counting(self, text: str) -> tuple[str, Counter[str]]:
        """`text` with the chosen kinds replaced, and how many of each (for the log)."""
        counts: Counter[str] = Counter()
        if not self.kinds:
            return text, counts
        pieces: list[str] = []
        done = 0
        for mention in _MENTION.finditer(text):  # the `<` and the id; a label goes on below
            pieces.append(self._redact_between(text[done : mention.start()], counts))
            pieces.append(mention.group())
            done = mention.end()
        pieces.append(self._redact_between(text[done:], counts))
        return "".join(pieces), counts

    def _redact_between(self, text: str, counts: Counter[str]) -> str:
        """Passes until one finds nothing: a number left alone because it ran into
        another (`+44 20 7946 0958-10.0.0.1`) stands alone once that one is a placeholder.
        Each pass that finds something removes digits or an `@`, so this ends."""
        while True:
            before = sum(counts.values())
            for rule in _RULES:
                if rule.kind in self.kinds:
                    text = rule.pattern.sub(partial(_replace, rule=rule, counts=counts), text)
            if sum(counts.values()) == before:
                return text


def _replace(match: re.Match[str], rule: _Rule, counts: Counter[str]) -> str:
    if not rule.check(match):
        return match.group()
    counts[rule.kind] += 1
    return f"[{rule.kind}]"
