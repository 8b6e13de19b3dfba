"""Who may ask where: the allow and deny lists, decided without I/O."""

from __future__ import annotations

import pytest

from bots.settings import Settings
from core.settings import SettingsError
from core.team.access import DENIED_REPLIES, AccessPolicy, Denial, Verdict


def policy(**env: str) -> AccessPolicy:
    return AccessPolicy.from_settings(Settings.from_mapping(env))


OPEN: dict[str, str] = {}
LOCKED = {
    "TRICKLE_ADMINS": "UADMIN",
    "TRICKLE_ALLOW_USERS": "U1,U2",
    "TRICKLE_DENY_USERS": "U2",
    "TRICKLE_ALLOW_CHANNELS": "C1,C2",
    "TRICKLE_DENY_CHANNELS": "C2",
}
DISCORD = {
    "TRICKLE_ADMINS": "900",
    "TRICKLE_ALLOW_ROLES": "10,11",
    "TRICKLE_DENY_ROLES": "11",
}


@pytest.mark.parametrize(
    "env, user, channel, options, expected",
    [
        # nothing set: everyone, everywhere, DMs too
        (OPEN, "U9", "C9", {}, None),
        (OPEN, "U9", "D9", {"direct": True}, None),
        (OPEN, "U9", "C9", {"roles": ("1",)}, None),
        # allow lists
        (LOCKED, "U1", "C1", {}, None),
        (LOCKED, "U3", "C1", {}, Denial.USER),
        (LOCKED, "U1", "C3", {}, Denial.CHANNEL),
        # deny beats allow
        (LOCKED, "U2", "C1", {}, Denial.USER),
        (LOCKED, "U1", "C2", {}, Denial.CHANNEL),
        # admins are never refused, not even where everything is denied
        (LOCKED, "UADMIN", "C2", {}, None),
        ({**LOCKED, "TRICKLE_DENY_USERS": "UADMIN", "TRICKLE_DMS": "off"}, "UADMIN", "D1", {"direct": True}, None),
        # DMs: the channel allow list does not apply, TRICKLE_DMS does, the user lists still do
        (LOCKED, "U1", "D1", {"direct": True}, None),
        (LOCKED, "U3", "D1", {"direct": True}, Denial.USER),
        ({"TRICKLE_DMS": "off"}, "U1", "D1", {"direct": True}, Denial.DM),
        ({"TRICKLE_DMS": "off"}, "U1", "C1", {}, None),
        ({"TRICKLE_DENY_CHANNELS": "D1"}, "U1", "D1", {"direct": True}, Denial.CHANNEL),
        # Discord roles: one allowed role is enough, a denied one refuses whatever else
        (DISCORD, "1", "5", {"roles": ("10",)}, None),
        (DISCORD, "1", "5", {"roles": ("12", "10")}, None),
        (DISCORD, "1", "5", {"roles": ("10", "11")}, Denial.ROLE),
        (DISCORD, "1", "5", {"roles": ("12",)}, Denial.ROLE),
        (DISCORD, "1", "5", {"roles": ()}, Denial.ROLE),
        (DISCORD, "900", "5", {"roles": ("11",)}, None),
        # a DM on Discord has no roles to show
        (DISCORD, "1", "6", {"roles": (), "direct": True}, Denial.ROLE),
        # Slack has no roles (None): role lists neither admit nor refuse there
        (DISCORD, "U1", "C1", {}, None),
        # people and roles are two ways to name who may ask
        ({**DISCORD, "TRICKLE_ALLOW_USERS": "7"}, "7", "5", {"roles": ()}, None),
        ({**DISCORD, "TRICKLE_ALLOW_USERS": "7"}, "8", "5", {"roles": ("10",)}, None),
        ({**DISCORD, "TRICKLE_ALLOW_USERS": "7"}, "8", "5", {"roles": ("12",)}, Denial.USER),
        ({**DISCORD, "TRICKLE_ALLOW_USERS": "7"}, "8", "5", {}, Denial.USER),
        # ...and where is asked as well
        ({**DISCORD, "TRICKLE_ALLOW_CHANNELS": "5"}, "1", "6", {"roles": ("10",)}, Denial.CHANNEL),
    ],
)
def test_the_lists_decide(env, user, channel, options, expected):
    verdict = policy(**env).check(user, channel, **options)
    assert verdict.allowed is (expected is None)
    assert verdict.denial is expected


@pytest.mark.parametrize("denial", list(Denial))
def test_a_refusal_says_one_short_line_that_names_no_list(denial):
    reply = DENIED_REPLIES[denial]
    assert "trickle" in reply and len(reply) <= 80 and "\n" not in reply
    assert "TRICKLE_" not in reply


def test_a_refusal_is_said_by_default_and_silent_when_asked():
    said = policy(TRICKLE_DENY_USERS="U1").check("U1", "C1")
    assert said == Verdict(False, DENIED_REPLIES[Denial.USER], Denial.USER)
    quiet = policy(TRICKLE_DENY_USERS="U1", TRICKLE_DENIED_REPLY="silent").check("U1", "C1")
    assert quiet == Verdict(False, None, Denial.USER)


def test_a_question_let_in_has_nothing_to_say():
    assert policy().check("U1", "C1") == Verdict(True, None, None)


def test_an_open_policy_knows_it_refuses_nobody():
    assert policy().refuses_nobody
    assert not policy(TRICKLE_DMS="off").refuses_nobody
    assert not policy(TRICKLE_DENY_ROLES="1").refuses_nobody


def test_settings_read_the_lists_as_sets_of_ids():
    s = Settings.from_mapping(
        {"TRICKLE_ALLOW_USERS": " U1, U2,,U1 ", "TRICKLE_DENY_ROLES": "123456789012345678", "TRICKLE_DMS": "OFF"}
    )
    assert s.allow_users == {"U1", "U2"}
    assert s.deny_roles == {"123456789012345678"}
    assert (s.dms, s.denied_reply, s.allow_channels) == (False, "say", frozenset())
    d = Settings.from_mapping({})
    assert (d.dms, d.denied_reply) == (True, "say")


@pytest.mark.parametrize(
    "name, value",
    [
        ("TRICKLE_ALLOW_USERS", "@ada"),
        ("TRICKLE_DENY_USERS", "<@U123>"),
        ("TRICKLE_ALLOW_CHANNELS", "#general"),
        ("TRICKLE_DENY_CHANNELS", "C1 C2"),
        ("TRICKLE_ALLOW_ROLES", "moderators"),
        ("TRICKLE_DENY_ROLES", "12a"),
        ("TRICKLE_DMS", "maybe"),
        ("TRICKLE_DENIED_REPLY", "shout"),
    ],
)
def test_a_bad_list_or_choice_names_the_variable(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_mapping({name: value})


def test_a_refusal_is_counted_by_platform_and_kind_of_rule_only():
    from bots.metrics import Metrics

    metrics = Metrics()
    verdict = policy(TRICKLE_DENY_ROLES="11").check("1", "5", roles=("11",))
    metrics.denied("discord", verdict.denial)
    metrics.denied("discord", "who knows")  # never a label beyond the fixed set
    text = metrics.render().decode()
    assert 'trickle_denied_total{platform="discord",why="role"} 1.0' in text
    assert 'trickle_denied_total{platform="discord",why="other"} 1.0' in text
