"""Whether a model reads images, guessed from its name for `TRICKLE_VISION=auto`.

Endpoints do not say whether a model takes image parts, and one that does not answers
a request carrying them with a 400, which would fail the whole question. So `auto`
guesses from the name; `on` and `off` exist for the names this table gets wrong.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

__all__ = ["vision_capable"]

# Checked in order; the first pattern that matches decides. Names are compared in lower
# case without a provider prefix ("openai/", "models/") or an Ollama tag (":13b").
_TABLE: tuple[tuple[str, bool], ...] = (
    # text-only members of families that otherwise see
    ("gpt-3.5*", False),
    ("gpt-4", False),
    ("gpt-4-0*", False),  # gpt-4-0613, gpt-4-0125-preview
    ("gpt-4-32k*", False),
    ("gpt-4-1106-preview", False),
    ("o1-mini*", False),
    ("o1-preview*", False),
    ("o3-mini*", False),
    ("claude-2*", False),
    ("claude-instant*", False),
    ("*embed*", False),
    ("*audio*", False),
    ("*realtime*", False),
    ("*tts*", False),
    ("*transcribe*", False),
    ("*whisper*", False),
    ("smollm*", False),  # the embedded local model
    # vision models by family
    ("*vision*", True),  # gpt-4-vision-preview, llama-3.2-11b-vision, grok-2-vision
    ("*-vl*", True),  # qwen2-vl, qwen2.5-vl, qwen-vl-max, deepseek-vl
    ("qwen*vl*", True),  # Ollama's qwen2.5vl
    ("gpt-4o*", True),
    ("chatgpt-4o*", True),
    ("gpt-4.1*", True),
    ("gpt-4.5*", True),
    ("gpt-4-turbo*", True),
    ("gpt-5*", True),
    ("o1*", True),
    ("o3*", True),
    ("o4*", True),
    ("claude-*", True),
    ("gemini*", True),
    ("gemma-3*", True),
    ("llama-4*", True),
    ("llava*", True),
    ("bakllava*", True),
    ("pixtral*", True),
    ("minicpm-v*", True),
    ("moondream*", True),
)


def _bare(model_name: str) -> str:
    name = model_name.strip().lower()
    name = name.removeprefix("ft:")  # fine-tuned OpenAI models: ft:gpt-4o-mini:org::id
    name = name.rsplit("/", 1)[-1]
    return name.split(":", 1)[0]


def vision_capable(model_name: str) -> bool:
    """True when the model is known to accept image parts; unknown names are False.

    Unknown means text only: sending images to a model that cannot take them fails the
    question, while leaving them out only costs a notice.
    """
    name = _bare(model_name)
    for pattern, sees in _TABLE:
        if fnmatchcase(name, pattern):
            return sees
    return False
