"""The playground in a real browser: Debian's headless Chromium, driven by Selenium.

`trickle playground --port 0` runs as a subprocess (the real command, as a newcomer runs
it) against the fake model server, which runs on its own loop in a thread because
Selenium's calls block. Two tabs are two people: grace says hello, ada asks for a poem
and watches it grow, then asks for an essay and stops it. Nothing downloads a browser:
the driver and the browser are the system's, and Selenium Manager is kept offline.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.fakes.openai_server import FakeOpenAI, Script, script_from_text
from tests.system import require

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ROOT = Path(__file__).resolve().parent.parent
ARTIFACT = ROOT / "artifacts" / "playground.png"
STREAMING_ARTIFACT = ROOT / "artifacts" / "playground-streaming.png"

POEM = (
    "**Rain, streaming**\n\n"
    "The sky types slowly, one grey letter at a time,\n"
    "each drop a token landing on the glass;\n"
    "the window fills the way an answer fills,\n"
    "a line, a pause, another line, and then the rest.\n\n"
    "Nobody waits for the whole storm to arrive:\n"
    "we read the first few words while it is still falling,\n"
    "and by the time the gutters start to sing\n"
    "the meaning has already soaked right through."
)
ESSAY = "\n\n".join(
    f"{n}. Streaming matters because people read while the model writes; "
    "a message that grows in place feels like a colleague typing, "
    "not a machine that went quiet and then dumped a wall of text."
    for n in range(1, 30)
)
T = TypeVar("T")
pytestmark = pytest.mark.browser


class FakeModelThread:
    """The fake OpenAI server on its own event loop, so blocking Selenium calls can't stall it."""

    def __init__(self, responder: Callable[[dict[str, Any]], Script]) -> None:
        self.fake = FakeOpenAI(responder=responder)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-openai", daemon=True)
        self.base_url = ""

    def run(self, work: Callable[[], Any]) -> Any:
        async def call() -> Any:
            result = work()
            return await result if asyncio.iscoroutine(result) else result

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result(10)

    def __enter__(self) -> FakeModelThread:
        self._thread.start()
        self.base_url = self.run(self.fake.start)
        return self

    def __exit__(self, *exc: object) -> None:
        self.run(self.fake.stop)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()


def _script_for(body: dict[str, Any]) -> Script:
    question = str(body["messages"][-1]["content"])
    if "essay" in question:
        return script_from_text(ESSAY, delay=0.03)
    return script_from_text(POEM, delay=0.03)


@pytest.fixture
def model() -> Iterator[FakeModelThread]:
    require("browser")
    with FakeModelThread(_script_for) as thread:
        yield thread


class PlaygroundProcess:
    """`python -m bots.cli playground --port 0`, as a newcomer runs it."""

    def __init__(self, process: subprocess.Popen[str], url: str) -> None:
        self.process = process
        self.url = url

    def stop(self) -> tuple[int, str]:
        """SIGTERM, as an operator stops it: the exit code and anything else it printed."""
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=30)
        return code, self.process.stdout.read()  # type: ignore[union-attr]


@pytest.fixture
def playground(model: FakeModelThread, tmp_path: Path) -> Iterator[PlaygroundProcess]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TRICKLE_"))}
    env.update(
        OPENAI_BASE_URL=model.base_url,
        TRICKLE_MODEL="fake-model",
        TRICKLE_EDIT_INTERVAL="0.2",
        PYTHONPATH=str(ROOT),
    )
    log = tmp_path / "playground.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "bots.cli", "playground", "--port", "0"],
            cwd=tmp_path,  # away from any developer's .env
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        try:
            line = _with_timeout(process.stdout.readline, 30)  # type: ignore[union-attr]
            assert line.startswith("Playground: http://127.0.0.1:"), (line, log.read_text())
            yield PlaygroundProcess(process, line.strip().removeprefix("Playground: "))
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must never fetch anything
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1100,1000",
        "--force-device-scale-factor=1",
        f"--user-data-dir={tmp_path / 'chromium'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _with_timeout(read: Callable[[], T], seconds: float) -> T:
    result: list[T] = []
    reader = threading.Thread(target=lambda: result.append(read()), daemon=True)
    reader.start()
    reader.join(seconds)
    if not result:
        raise TimeoutError(f"nothing read in {seconds}s")
    return result[0]


def _until(check: Callable[[], T], timeout: float = 15, every: float = 0.03) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting after {timeout}s")
        time.sleep(every)


_LAST_ANSWER = """
const pages = document.querySelectorAll('article.message.bot');
const m = pages[pages.length - 1];
if (!m) return null;
const body = m.querySelector('.body');
return {id: m.dataset.id, count: pages.length, shown: body.innerText, text: body.dataset.text,
        final: m.dataset.final === 'true', stop: !!m.querySelector('button.stop'),
        stats: (m.querySelector('.stats') || {}).textContent || ''};
"""


def _open_tab(driver: Any, url: str, name: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver.get(url)
    _until(lambda: driver.find_element(By.ID, "status").text == "live")
    field = driver.find_element(By.ID, "name")
    field.clear()
    field.send_keys(name, Keys.ENTER)
    _until(lambda: driver.execute_script("return document.body.dataset.name") == name)


def _say(driver: Any, text: str) -> None:
    """Type as an independent script would: into the page's first text field."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver.find_element(By.CSS_SELECTOR, "input, textarea").send_keys(text, Keys.ENTER)


def test_a_person_watches_an_answer_grow_and_stops_another(
    browser: Any, playground: PlaygroundProcess, model: FakeModelThread
) -> None:
    from selenium.webdriver.common.by import By

    playground_url = playground.url
    _open_tab(browser, playground_url, "ada")
    ada = browser.current_window_handle
    browser.switch_to.new_window("tab")
    _open_tab(browser, playground_url, "grace")
    grace = browser.current_window_handle
    _say(browser, "morning! has anyone tried the bot yet?")
    browser.switch_to.window(ada)
    _until(lambda: "has anyone tried" in browser.find_element(By.ID, "messages").text)

    # A poem: the message grows over several edits and ends with exactly the model's text.
    _say(browser, "@trickle write a poem about rain")
    seen: dict[str, str] = {}  # Markdown the page received -> what it showed
    answer = _until(lambda: browser.execute_script(_LAST_ANSWER))
    while not answer["final"]:
        seen.setdefault(answer["text"], answer["shown"])
        time.sleep(0.03)
        answer = browser.execute_script(_LAST_ANSWER)
        assert len(seen) < 500, "the answer never ended"
    growing = [text for text in seen if text and text != "_thinking…_"]
    assert len(growing) >= 3, seen
    assert all(POEM.startswith(text) for text in growing), growing
    assert len(set(seen.values())) >= 4, seen  # the placeholder, then the text growing
    assert answer["text"] == POEM
    assert answer["shown"] == POEM.replace("**", "")
    assert not answer["stop"]
    _until(lambda: "tokens/s" in browser.execute_script(_LAST_ANSWER)["stats"])
    stats = browser.execute_script(_LAST_ANSWER)["stats"]
    assert "first token" in stats and "edits" in stats, stats

    # An essay: ada stops it; grace, who did not ask, is offered no Stop button.
    _say(browser, "/ask write a long essay about streaming")
    essay = _until(lambda: (a := browser.execute_script(_LAST_ANSWER))["count"] == 2 and len(a["shown"]) > 150 and a)
    assert essay["stop"] and not essay["final"]
    browser.switch_to.window(grace)
    theirs = _until(lambda: (a := browser.execute_script(_LAST_ANSWER)) and a["count"] == 2 and a)
    assert not theirs["stop"]
    # A tab ada opens from her own (window.open copies sessionStorage, as "Duplicate tab"
    # does) is somebody else: its own identity and name, and no Stop on ada's answer.
    browser.switch_to.window(ada)
    ada_is = browser.execute_script("return document.body.dataset.you")
    before = set(browser.window_handles)
    browser.execute_script("window.open(location.href)")
    copy = _until(lambda: next(iter(set(browser.window_handles) - before), None))
    browser.switch_to.window(copy)
    _until(lambda: browser.find_element(By.ID, "status").text == "live")
    copy_is = _until(lambda: browser.execute_script("return document.body.dataset.you"))
    assert copy_is != ada_is
    assert browser.execute_script("return document.body.dataset.name") != "ada"
    theirs = _until(lambda: (a := browser.execute_script(_LAST_ANSWER)) and a["count"] == 2 and a)
    assert not theirs["final"] and not theirs["stop"]
    browser.close()
    browser.switch_to.window(ada)
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(STREAMING_ARTIFACT))
    stop = browser.find_element(By.CSS_SELECTOR, f'article[data-id="{essay["id"]}"] button.stop')
    assert stop.text == "Stop"
    stop.click()
    stopped = _until(lambda: (a := browser.execute_script(_LAST_ANSWER))["final"] and a)
    assert stopped["shown"].endswith("(stopped by ada)")
    assert ESSAY.startswith(stopped["text"].removesuffix("\n\n_(stopped by ada)_"))
    assert not stopped["stop"]
    _until(lambda: model.run(lambda: len(model.fake.disconnects)) == 1, timeout=5)
    assert model.run(lambda: len(model.fake.completed)) == 1  # the poem only

    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(browser).move_to_element(browser.find_element(By.ID, "input")).perform()
    time.sleep(0.3)  # let the final figures land before the picture
    assert browser.save_screenshot(str(ARTIFACT))  # docs/playground.png is a copy of one

    assert playground.stop() == (0, "")  # a clean stop, and the URL was its only output


_PANE = """
const pages = document.querySelectorAll('article.message.bot');
const m = pages[pages.length - 1];
const rating = m && m.querySelector('.rating');
return {
  greeting: document.getElementById('greeting').hidden ? null : document.getElementById('greeting').textContent,
  prompts: [...document.querySelectorAll('#suggestions:not([hidden]) button.suggestion .label')].map(b => b.textContent),
  title: document.getElementById('title').hidden ? null : document.getElementById('title').textContent,
  documentTitle: document.title,
  votes: m ? m.querySelectorAll('button.vote').length : 0,
  rating: rating ? rating.textContent : null,
  pressed: m ? [...m.querySelectorAll('button.vote[aria-pressed="true"]')].map(b => b.dataset.verdict) : [],
};
"""


def test_a_new_conversation_offers_prompts_gets_a_title_and_takes_feedback(
    browser: Any, playground: PlaygroundProcess
) -> None:
    from selenium.webdriver.common.by import By

    from core.conversation.suggestions import DEFAULT_PROMPTS, GREETING, title_for

    _open_tab(browser, playground.url, "ada")
    offered = _until(lambda: (p := browser.execute_script(_PANE))["prompts"] and p)
    assert offered["greeting"] == GREETING
    assert offered["prompts"] == [p.title for p in DEFAULT_PROMPTS]
    assert offered["title"] is None and offered["votes"] == 0

    # Clicking a prompt asks its question, and the answer streams into the channel.
    prompt = DEFAULT_PROMPTS[1]
    browser.find_elements(By.CSS_SELECTOR, "button.suggestion")[1].click()
    asked = _until(lambda: browser.find_elements(By.CSS_SELECTOR, "article.message.person .body"))
    assert asked[0].get_attribute("data-text") == f"@trickle {prompt.message}"
    seen: set[str] = set()
    answer = _until(lambda: browser.execute_script(_LAST_ANSWER))
    while not answer["final"]:
        seen.add(answer["text"])
        time.sleep(0.03)
        answer = browser.execute_script(_LAST_ANSWER)
        assert len(seen) < 500, "the answer never ended"
    growing = [text for text in seen if text and text != "_thinking…_"]
    assert len(growing) >= 2 and all(POEM.startswith(text) for text in growing), seen
    assert answer["text"] == POEM

    # The prompts are gone, the first question titles the conversation.
    pane = browser.execute_script(_PANE)
    assert pane["prompts"] == [] and pane["greeting"] is None
    assert pane["title"] == title_for(prompt.message)
    assert pane["documentTitle"].startswith(title_for(prompt.message))

    # Thumbs down on the finished answer: acknowledged, and the answer stays as it was.
    down = _until(lambda: browser.find_elements(By.CSS_SELECTOR, "article.message.bot button.vote.bad"))[-1]
    assert down.is_displayed() and down.is_enabled()
    down.click()
    rated = _until(lambda: (p := browser.execute_script(_PANE))["rating"] and p)
    assert rated["rating"] == "Thanks for the feedback" and rated["pressed"] == ["bad"]
    assert browser.execute_script(_LAST_ANSWER)["text"] == POEM
    down.click()
    _until(lambda: "already" in (browser.execute_script(_PANE)["rating"] or ""))

    # The title is the conversation's, kept by the server: a reload shows it again.
    browser.refresh()
    _until(lambda: browser.find_element(By.ID, "status").text == "live")
    again = _until(lambda: (p := browser.execute_script(_PANE))["title"] and p)
    assert again["title"] == title_for(prompt.message) and again["prompts"] == []
    assert playground.stop() == (0, "")


_ATTACHED = """
const person = [...document.querySelectorAll('article.message.person')].pop();
return {
  chips: [...document.querySelectorAll('#attachments:not([hidden]) .chip .name')].map(c => c.textContent),
  sent: person ? [...person.querySelectorAll('.files .file')].map(f => f.textContent) : null,
  images: document.querySelectorAll('img').length,
  waiting: [...document.querySelectorAll('article.message.bot .body em.waiting')].map(w => w.textContent),
};
"""


_PASTE_AND_DROP = """
const file = (text, name) => { const d = new DataTransfer(); d.items.add(new File([text], name, {type: 'text/plain'})); return d; };
document.getElementById('input').dispatchEvent(new ClipboardEvent('paste', {clipboardData: file('from the clipboard', 'pasted.txt'), bubbles: true, cancelable: true}));
const composer = document.getElementById('composer');
const dropped = file('dragged in', 'dropped.txt');
composer.dispatchEvent(new DragEvent('dragover', {dataTransfer: dropped, bubbles: true, cancelable: true}));
composer.dispatchEvent(new DragEvent('drop', {dataTransfer: dropped, bubbles: true, cancelable: true}));
"""


def test_a_person_attaches_files_sees_their_chips_and_gets_an_answer_about_them(
    browser: Any, playground: PlaygroundProcess, model: FakeModelThread, tmp_path: Path
) -> None:
    from PIL import Image
    from selenium.webdriver.common.by import By

    hostile = "<img src=x onerror=alert(1)>.txt"
    files = tmp_path / "files"
    files.mkdir()
    (files / "notes.txt").write_text("the deploy key rotates on Fridays\n")
    (files / hostile).write_text("just a note\n")
    (files / "extra.txt").write_text("not sent\n")
    Image.new("RGB", (40, 30), (200, 30, 30)).save(files / "red_square.png")
    model.run(lambda: model.fake.script_queue.append(script_from_text("Two notes and a picture.", first_delay=1.5)))

    _open_tab(browser, playground.url, "ada")
    picker = browser.find_element(By.ID, "files")
    picker.send_keys("\n".join(str(files / name) for name in ("notes.txt", hostile, "extra.txt", "red_square.png")))
    shown = _until(lambda: (a := browser.execute_script(_ATTACHED))["chips"] and a)
    assert shown["chips"] == ["notes.txt", hostile, "extra.txt", "red_square.png"]
    assert shown["images"] == 0  # the hostile name is text, not an element
    browser.find_element(By.CSS_SELECTOR, '#attachments .chip[data-name="extra.txt"] button.remove').click()
    _until(lambda: browser.execute_script(_ATTACHED)["chips"] == ["notes.txt", hostile, "red_square.png"])
    browser.execute_script(_PASTE_AND_DROP)  # as a paste into the box and a drop on the composer
    attached = ["notes.txt", hostile, "red_square.png", "pasted.txt", "dropped.txt"]
    _until(lambda: browser.execute_script(_ATTACHED)["chips"] == attached)

    _say(browser, "@trickle what is in these?")
    # The model reads no images: the placeholder says so (the `_` in the name shown as typed).
    waiting = _until(lambda: [w for w in browser.execute_script(_ATTACHED)["waiting"] if "left out" in w])
    assert "red_square.png was left out: this model does not read images" in waiting[0]
    answer = _until(lambda: (a := browser.execute_script(_LAST_ANSWER))["final"] and a)
    assert answer["text"] == "Two notes and a picture."
    after = browser.execute_script(_ATTACHED)
    assert after["sent"] == attached and after["chips"] == []
    assert after["images"] == 0
    assert browser.find_element(By.ID, "input").get_attribute("value") == ""
    sent = model.run(lambda: model.fake.requests[-1]["messages"][-1]["content"])
    assert "the deploy key rotates on Fridays" in sent and "just a note" in sent and "not sent" not in sent
    assert "from the clipboard" in sent and "dragged in" in sent
    assert playground.stop() == (0, "")
