"""`trickle ask` end to end: the real command, the real SDK, the fake model server."""

from __future__ import annotations

import asyncio
import os
import pty
import sys
import tty

from tests.fakes.openai_server import FakeOpenAI, Script, script_from_text

POEM = "Blossoms wake the sleepy hills,\nbees hum soft on daffodils.\n\nSpring is here & <all> is new."
QUANTUM = (
    "Quantum computers use **qubits**, which can be 0 and 1 at once (superposition).\n\n"
    "- They explore many possibilities together\n- Entanglement links qubits\n\n"
    "```python\nprint('hello, qubit')\n```"
)


async def run_ask(base_url: str | None, *args: str, stdin: str | None = None, extra_env=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TRICKLE_"))}
    if base_url:
        env["OPENAI_BASE_URL"] = base_url
    env.update(extra_env or {})
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bots.cli",
        "ask",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=os.path.dirname(os.path.dirname(__file__)),
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode() if stdin else None), 60)
    return proc.returncode, out.decode(), err.decode()


async def test_poem_prompt_streams_the_exact_text(fake_openai: FakeOpenAI):
    fake_openai.script_queue.append(script_from_text(POEM, delay=0.01))
    code, out, err = await run_ask(fake_openai.base_url, "Write a short poem about spring.")
    assert code == 0, err
    assert out == POEM + "\n"
    assert fake_openai.requests[0]["messages"][-1] == {
        "role": "user",
        "content": "Write a short poem about spring.",
    }
    assert fake_openai.requests[0]["stream"] is True


async def test_quantum_prompt_streams_markdown_byte_for_byte(fake_openai: FakeOpenAI):
    fake_openai.script_queue.append(script_from_text(QUANTUM, chunk_size=3))
    code, out, _ = await run_ask(fake_openai.base_url, "Explain quantum computing in simple terms.")
    assert code == 0
    assert out == QUANTUM + "\n"


async def test_empty_prompt_prints_usage_and_calls_no_model(fake_openai: FakeOpenAI):
    code, out, err = await run_ask(fake_openai.base_url, "")
    assert code == 2
    assert out == ""
    assert "usage" in err
    assert fake_openai.requests == []


async def test_blank_stdin_prompt_is_a_usage_error(fake_openai: FakeOpenAI):
    code, _, err = await run_ask(fake_openai.base_url, "-", stdin="  \n\t\n")
    assert code == 2 and "usage" in err
    assert fake_openai.requests == []


async def test_prompt_from_stdin(fake_openai: FakeOpenAI):
    fake_openai.script_queue.append(script_from_text("Yes."))
    code, out, _ = await run_ask(fake_openai.base_url, "-", stdin="Is it spring?\n")
    assert (code, out) == (0, "Yes.\n")
    assert fake_openai.requests[0]["messages"][-1]["content"] == "Is it spring?\n"


async def test_model_error_mid_stream_keeps_the_text_and_exits_1(fake_openai: FakeOpenAI):
    fake_openai.script_queue.append(script_from_text("one two three four five", fail="error_event", fail_after=3))
    code, out, err = await run_ask(fake_openai.base_url, "count")
    assert code == 1
    assert out.rstrip("\n") == "one two three"
    assert len(err.strip().splitlines()) == 1
    assert "model failed" in err


async def test_no_stream_prints_the_whole_answer(fake_openai: FakeOpenAI):
    fake_openai.script_queue.append(script_from_text(POEM))
    code, out, _ = await run_ask(fake_openai.base_url, "--no-stream", "poem")
    assert (code, out) == (0, POEM + "\n")


async def test_model_flag_is_sent(fake_openai: FakeOpenAI):
    fake_openai.script_queue.append(Script(tokens=["ok"]))
    await run_ask(fake_openai.base_url, "--model", "tiny-1", "hi")
    assert fake_openai.requests[0]["model"] == "tiny-1"


async def test_bad_setting_names_the_variable():
    code, _, err = await run_ask(None, "hi", extra_env={"TRICKLE_IDLE_TIMEOUT": "soon"})
    assert code == 2
    assert "TRICKLE_IDLE_TIMEOUT" in err


async def test_unreachable_endpoint_is_one_clear_line_and_exit_1():
    code, out, err = await run_ask("http://127.0.0.1:9/v1", "hi")
    assert code == 1
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert err == "trickle: the model endpoint is unreachable — ask again\n"


async def test_stdin_that_is_not_utf8_is_asked_with_replacement_characters(fake_openai: FakeOpenAI):
    fake_openai.script_queue.append(script_from_text("Café noted."))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TRICKLE_"))}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bots.cli",
        "ask",
        "-",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**env, "OPENAI_BASE_URL": fake_openai.base_url},
        cwd=os.path.dirname(os.path.dirname(__file__)),
    )
    out, err = await asyncio.wait_for(proc.communicate(b"caf\xc3\xa9 \xff?"), 60)
    assert (proc.returncode, out.decode(), err.decode()) == (0, "Café noted.\n", "")
    assert fake_openai.requests[0]["messages"][-1]["content"] == "café \ufffd?"


async def test_a_reader_that_hangs_up_early_ends_quietly(fake_openai: FakeOpenAI):
    fake_openai.script_queue.append(script_from_text("word " * 20000))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TRICKLE_"))}
    read, write = os.pipe()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bots.cli",
        "ask",
        "talk",
        stdout=write,
        stderr=asyncio.subprocess.PIPE,
        env={**env, "OPENAI_BASE_URL": fake_openai.base_url},
        cwd=os.path.dirname(os.path.dirname(__file__)),
    )
    os.close(write)
    assert await asyncio.to_thread(os.read, read, 10)  # like `| head -c 10`, then hang up
    os.close(read)
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0
    assert "Traceback" not in err.decode() and "BrokenPipe" not in err.decode()


# Window title (OSC 0), clear screen (CSI 2J), a clipboard write (OSC 52) and an 8-bit CSI,
# each cut across two deltas the way a stream may cut them.
ESCAPING = ["Hello ", "\x1b]0;pwn", "ed\x07wor", "ld\x1b[2", "J\n\x1b]52;c;cm0gLXJmIH4=", "\x07done \x9b31", "mred"]


def _read_until_closed(fd: int) -> bytes:
    """Everything the terminal receives until the last writer closes it (EIO on Linux)."""
    received = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            return received
        if not chunk:
            return received
        received += chunk


async def test_on_a_terminal_the_models_escape_sequences_never_arrive(fake_openai: FakeOpenAI):
    fake_openai.script_queue.append(Script(tokens=ESCAPING))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TRICKLE_"))}
    terminal, stdout = pty.openpty()
    tty.setraw(stdout)  # no \n -> \r\n: the bytes read are the bytes trickle wrote
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bots.cli",
            "ask",
            "hi",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=stdout,
            stderr=asyncio.subprocess.PIPE,
            env={**env, "OPENAI_BASE_URL": fake_openai.base_url},
            cwd=os.path.dirname(os.path.dirname(__file__)),
        )
    finally:
        os.close(stdout)
    try:
        shown = await asyncio.wait_for(asyncio.to_thread(_read_until_closed, terminal), 60)
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        os.close(terminal)
    assert proc.returncode == 0, err.decode()
    assert shown.decode() == "Hello world\ndone red\n"


async def test_piped_output_keeps_the_models_text_exact(fake_openai: FakeOpenAI):
    fake_openai.script_queue.append(Script(tokens=ESCAPING))
    code, out, err = await run_ask(fake_openai.base_url, "hi")
    assert code == 0, err
    assert out == "".join(ESCAPING) + "\n"


async def test_a_bad_redis_url_is_named_without_its_password():
    code, _, err = await run_ask(None, "hi", extra_env={"TRICKLE_REDIS_URL": "redis://:canarypw@host:notaport/0"})
    assert code == 2
    assert "TRICKLE_REDIS_URL" in err and "canarypw" not in err


CANARY_KEY = "sk-canary-5e1d0c9b8a7f6e5d"
INTERNAL_HOST = "llm-gw-7.corp.internal"


async def test_a_401_echoing_the_key_and_a_host_prints_neither_and_names_the_setting(fake_openai: FakeOpenAI):
    body = {
        "error": {
            "message": f"Incorrect API key provided: {CANARY_KEY} (via {INTERNAL_HOST})",
            "code": "invalid_api_key",
        }
    }
    fake_openai.script_queue.append(Script(tokens=[], fail="http_error", status=401, error_body=body))
    code, out, err = await run_ask(fake_openai.base_url, "hi", extra_env={"OPENAI_API_KEY": CANARY_KEY})
    assert (code, out) == (1, "")
    assert err == "trickle: the model refused the credentials — check OPENAI_API_KEY\n"
    assert CANARY_KEY not in err and INTERNAL_HOST not in err


async def test_a_fastapi_404_at_a_base_url_without_v1_says_so(fake_openai: FakeOpenAI):
    code, _, err = await run_ask(fake_openai.base_url.removesuffix("/v1"), "hi")
    assert code == 1
    assert err == "trickle: no chat endpoint at OPENAI_BASE_URL — check it: it usually ends in /v1\n"


async def test_a_prompt_too_long_for_the_context_is_refused_before_sending(fake_openai: FakeOpenAI):
    code, _, err = await run_ask(
        fake_openai.base_url, "-", stdin="why " * 3000, extra_env={"TRICKLE_CONTEXT_TOKENS": "2000"}
    )
    assert code == 1
    assert err == "trickle: the question is too long for the model's context — ask something shorter\n"
    assert fake_openai.requests == []


async def test_an_empty_stream_names_the_context_as_the_likely_cause(fake_openai: FakeOpenAI):
    fake_openai.script_queue.append(Script(tokens=[], fail="empty"))
    code, _, err = await run_ask(fake_openai.base_url, "hi")
    assert code == 1
    assert err == "trickle: the model sent nothing — the prompt may exceed its context\n"


async def test_a_local_server_that_would_run_away_is_cut_at_the_default_cap(fake_openai: FakeOpenAI):
    """No TRICKLE_MAX_TOKENS: the request keeps the model's default, trickle ends the answer."""
    fake_openai.script_queue.append(Script(tokens=["on "] * 1500))
    code, out, err = await run_ask(fake_openai.base_url, "talk")
    assert (code, out) == (0, "on " * 1024 + "\n")
    assert "max_tokens" not in fake_openai.requests[0]
    assert err == "trickle: cut short at the 1024-token limit — TRICKLE_MAX_TOKENS raises it\n"
