"""What looks like a secret is masked before people read it (start-up errors, logs)."""

from __future__ import annotations

import pytest

from core.privacy.masking import mask_secrets


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("redis://:canary@host:6379/0", "redis://:***@host:6379/0"),
        ("redis://default:can@ry@host/0", "redis://default:***@host/0"),  # an @ in the password
        ("https://bob:canary@proxy.example:8080/v1 refused", "https://bob:***@proxy.example:8080/v1 refused"),
        ("https://api.example/v1?api_key=canary&x=1", "https://api.example/v1?api_key=***&x=1"),
        ("https://h/?a=1&access_token=canary#f", "https://h/?a=1&access_token=***#f"),
        ("https://h/?password=canary", "https://h/?password=***"),
        ("'https://h/?sig=canary'", "'https://h/?sig=***'"),
        ("key sk-canary0123456789 and xoxb-1-canary", "key *** and ***"),
        ("ghp_" + "c" * 36, "***"),
    ],
)
def test_secrets_are_masked(text: str, shown: str) -> None:
    assert mask_secrets(text) == shown


def test_ordinary_text_and_urls_are_left_alone() -> None:
    text = "TRICKLE_IDLE_TIMEOUT='soon' is not a number; see https://example.com/docs?page=2 or mail a@b.c"
    assert mask_secrets(text) == text
