"""A channel's own model and system prompt, set by admins and seen by every replica.

A team wants its `#legal` channel answered by a careful prompt and its `#data` channel by
a bigger model, without a restart. The choice lives in the state store under
`prefs:{place}` (`place` as `Question.place` spells it: `slack:C123`, `discord:123`), so
every replica answers the same way, and it survives restarts wherever the store does
(Redis, the SQLite file).

The model is the operator's cost, so a channel may only pick from `TRICKLE_MODELS`,
checked when set and again when read (the list may have shrunk since). Only admins
(`TRICKLE_ADMINS`) may change anything; adapters show `PrefsRefused`'s message as is.

Reading is on every answer's path, so `get` keeps what it read for `cache_seconds`
(default 1): a busy channel costs one state read a second, not one per answer. The
price: a change made on one replica reaches the others' answers up to a second later
(the replica that made it sees it at once). Kept that short because an admin who sets
a model and asks at once expects the answer to use it, whichever replica answers.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from core.settings import CoreSettings
from core.state.store import StateStore
from core.team.model_choice import refusal

log = logging.getLogger("trickle.prefs")

PROMPT_CHARS = 4000  # a system prompt past this is a document, and every answer pays for it
PREFS_TTL = 10 * 365 * 24 * 3600.0  # "until changed": set again, it lasts ten more years
CACHE_SECONDS = 1.0
CACHE_PLACES = 1024  # channels remembered at once; the least recently read go first

NOT_ADMIN = "only trickle's admins can change this channel's settings"


class PrefsRefused(ValueError):
    """A change that may not be made; the message is the reply to show, as is."""


@dataclass(frozen=True, slots=True)
class Prefs:
    """What a channel asked for; None means the operator's default (TRICKLE_MODEL,
    TRICKLE_SYSTEM_PROMPT). `by` is the admin who last changed it, for a settings view."""

    model: str | None = None
    system_prompt: str | None = None
    by: str | None = None

    @property
    def empty(self) -> bool:
        return self.model is None and self.system_prompt is None

    def dumps(self) -> str:
        return json.dumps(
            {"model": self.model, "system_prompt": self.system_prompt, "by": self.by},
            separators=(",", ":"),
            ensure_ascii=False,
        )

    @classmethod
    def loads(cls, raw: str) -> Prefs:
        """The stored form; anything unreadable is the defaults (and logged), never an error."""
        try:
            data = json.loads(raw)
            model, prompt, by = data.get("model"), data.get("system_prompt"), data.get("by")
        except (ValueError, AttributeError):
            log.warning("unreadable channel settings ignored: %.80r", raw)
            return NO_PREFS
        return cls(
            model if isinstance(model, str) and model else None,
            prompt if isinstance(prompt, str) and prompt else None,
            by if isinstance(by, str) else None,
        )


NO_PREFS = Prefs()


class ChannelPrefs:
    """Reads and changes channels' prefs in the state store, with a short read cache.

    The cache is why this is a class that holds state: see the module docstring for the
    trade-off between replicas it makes.
    """

    __slots__ = ("_state", "_models", "_admins", "_cache", "_cache_seconds", "_clock")

    def __init__(
        self,
        state: StateStore,
        settings: CoreSettings,
        *,
        cache_seconds: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._state = state
        self._models = settings.models
        self._admins = settings.admins
        self._cache: OrderedDict[str, tuple[float, Prefs]] = OrderedDict()
        self._cache_seconds = cache_seconds
        self._clock = clock

    def __repr__(self) -> str:
        return f"<ChannelPrefs cached={len(self._cache)} for={self._cache_seconds:g}s state={self._state!r}>"

    async def get(self, place: str) -> Prefs:
        """The channel's prefs (defaults when none are set), as answers should use them:
        a stored model no longer in TRICKLE_MODELS is dropped, so the default answers."""
        if not place:
            return NO_PREFS
        now = self._clock()
        cached = self._cache.get(place)
        if cached is not None and cached[0] > now:
            self._cache.move_to_end(place)
            return cached[1]
        raw = await self._state.get(_key(place))
        prefs = Prefs.loads(raw) if raw else NO_PREFS
        if prefs.model is not None and prefs.model not in self._models:
            log.warning("channel %s asks for model %r, which TRICKLE_MODELS no longer lists", place, prefs.model)
            prefs = Prefs(None, prefs.system_prompt, prefs.by)
        self._remember(place, prefs, now)
        return prefs

    async def set_model(self, place: str, model: str | None, *, by: str) -> Prefs:
        """Answer `place` with `model` from now on (None: the default model again).

        Raises `PrefsRefused` when `by` is not an admin, or the model is not one of
        TRICKLE_MODELS (the message lists those that are).
        """
        self._check(place, by)
        model = (model or "").strip() or None
        why = refusal(model, self._models)
        if why is not None:
            raise PrefsRefused(why)
        current = await self._stored(place)
        return await self._save(place, Prefs(model, current.system_prompt, by))

    async def set_prompt(self, place: str, text: str, *, by: str) -> Prefs:
        """Use `text` as `place`'s system prompt, instead of TRICKLE_SYSTEM_PROMPT (not
        added to it); empty text goes back to the default. Raises `PrefsRefused` for a
        non-admin or a prompt longer than `PROMPT_CHARS`."""
        self._check(place, by)
        prompt = text.strip() or None
        if prompt is not None and len(prompt) > PROMPT_CHARS:
            raise PrefsRefused(
                f"that system prompt is {len(prompt):,} characters; at most {PROMPT_CHARS:,} are kept per channel"
            )
        current = await self._stored(place)
        return await self._save(place, Prefs(current.model, prompt, by))

    async def reset(self, place: str, *, by: str) -> None:
        """Back to the operator's model and system prompt. Raises `PrefsRefused` for a non-admin."""
        self._check(place, by)
        await self._state.delete(_key(place))
        self._cache.pop(place, None)
        log.info("channel settings of %s reset by %s", place, by)

    def _check(self, place: str, by: str) -> None:
        if by not in self._admins:
            raise PrefsRefused(NOT_ADMIN)
        if not place:
            raise ValueError("channel prefs need a place (e.g. 'slack:C123')")

    async def _stored(self, place: str) -> Prefs:
        """What is stored now, read past the cache: a change must not undo another
        replica's change to the other half."""
        raw = await self._state.get(_key(place))
        return Prefs.loads(raw) if raw else NO_PREFS

    async def _save(self, place: str, prefs: Prefs) -> Prefs:
        if prefs.empty:
            await self._state.delete(_key(place))
        else:
            await self._state.put(_key(place), prefs.dumps(), ttl=PREFS_TTL)
        self._remember(place, prefs, self._clock())
        log.info(
            "channel settings of %s changed by %s: model %s, %s",
            place,
            prefs.by,
            prefs.model or "default",
            f"a {len(prefs.system_prompt)}-character system prompt"
            if prefs.system_prompt
            else "the default system prompt",
        )
        return prefs

    def _remember(self, place: str, prefs: Prefs, now: float) -> None:
        if self._cache_seconds <= 0:
            return
        self._cache[place] = (now + self._cache_seconds, prefs)
        self._cache.move_to_end(place)
        while len(self._cache) > CACHE_PLACES:
            self._cache.popitem(last=False)


def _key(place: str) -> str:
    return f"prefs:{place}"
