"""Each page in a real browser: Playwright driving the system's Chromium against the app served
by uvicorn. The checks are what a person would see: sheet music with notes, a player with a
WAV that lasts, next words as you type, the curve, the plots, and a bad value's message.

Skipped, with the reason, where playwright (pip install playwright) or Chromium (Debian:
apt-get install chromium; or SEQLAB_CHROMIUM=/path/to/chrome) is missing: Playwright's own
browser download needs the internet, so the system's Chromium is used.
"""

from __future__ import annotations

import os
import shutil

import pytest

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install playwright")

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT_MS = 30_000


def find_chromium() -> str:
    """The Chromium to drive, or a skip that says what is missing."""
    chosen = os.environ.get("SEQLAB_CHROMIUM")
    if chosen:
        if not os.path.isfile(chosen):
            pytest.skip(f"SEQLAB_CHROMIUM={chosen} is not a file")
        return chosen
    found = next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)
    if found is None:
        pytest.skip("no system Chromium (apt-get install chromium, or set SEQLAB_CHROMIUM)")
    return found


@pytest.fixture(scope="module")
def browser():
    executable = find_chromium()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh tab on the live server; fails the test if the page's JavaScript throws."""
    context = browser.new_context(base_url=live_server)
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    # The page's own policy (no eval) holds in the tests too: waits are written as functions.
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert not errors, errors


def test_music_shows_sheet_music_plays_a_wav_and_makes_more_like_this(page):
    page.goto("/music")
    page.fill("input[name=count]", "1")
    page.fill("input[name=seed]", "3")
    page.click("button[type=submit]")
    page.wait_for_selector(".tune .sheet svg")
    assert page.locator(".tune .sheet svg g.note").count() > 10  # engraved notes, not an empty staff
    audio = page.locator(".tune audio")
    page.wait_for_function("() => document.querySelector('.tune audio').duration > 0")
    assert audio.evaluate("a => a.currentSrc").endswith(".wav")
    assert audio.evaluate("a => a.duration") > 5  # a whole tune, played through its repeats
    head = audio.evaluate("async a => Array.from(new Uint8Array(await (await fetch(a.currentSrc)).arrayBuffer()).slice(0, 12))")
    assert bytes(head[:4]) == b"RIFF" and bytes(head[8:12]) == b"WAVE"
    assert page.locator(".tune .downloads a").all_inner_texts() == ["ABC", "MIDI", "WAV", "SVG"]
    assert page.locator(".tune .validity .valid").inner_text().startswith("Valid")
    assert page.locator(".tune pre.abc").text_content().startswith("X:1")  # inside closed <details>
    assert "Seed 3" in page.locator(".status").inner_text()

    first_title = page.locator(".tune .title").inner_text()
    page.click(".tune .more")
    page.wait_for_function(f"() => document.querySelector('.tune .title').textContent !== {first_title!r}")
    assert page.locator(".tune .sheet svg g.note").count() > 10
    start_lines = page.locator("textarea[name=start]").input_value().split("\n")
    assert any(line.startswith("M:") for line in start_lines[:2])  # the tune's dance: its R: and M:, or M: alone


def test_music_shows_a_bad_value_on_the_page(page):
    page.goto("/music")
    page.fill("input[name=count]", "99")
    page.click("button[type=submit]")
    error = page.locator("main > .error")
    error.wait_for(state="visible")
    assert "count must be from 1 to 8, got 99" in error.inner_text()
    assert page.locator(".tune").count() == 0


def test_text_predicts_as_you_type_and_writes(page):
    page.goto("/text")
    page.fill("#predict-prompt", "")
    page.locator("#predict-prompt").press_sequentially("This morning I took my cat for a", delay=5)
    page.wait_for_function("() => document.querySelectorAll('#predictions li').length === 5")
    words = page.locator("#predictions .word").all_inner_texts()
    assert "king" in words and "man" in words
    assert all(line.strip().endswith("%") for line in page.locator("#predictions li").all_inner_texts())

    page.fill("textarea[name=prompt]", "JULIET:")
    page.fill("input[name=length]", "60")
    page.click("#generate-form button[type=submit]")
    page.wait_for_function("() => document.getElementById('generated').textContent.startsWith('JULIET:')")
    assert len(page.locator("#generated").inner_text()) > 40

    page.fill("input[name=length]", "0")
    page.click("#generate-form button[type=submit]")
    error = page.locator("#generate-form .error")
    error.wait_for(state="visible")
    assert "length must be from 1 to 2,000, got 0" in error.inner_text()


def test_sentiment_shows_the_label_and_the_curve(page):
    page.goto("/sentiment")
    page.fill("input[name=sentence]", "a gorgeous, witty, seductive movie.")
    page.click("button[type=submit]")
    page.locator("#verdict").wait_for(state="visible")
    assert page.locator("#verdict .label").inner_text().startswith("positive")
    # One point per word (the tokenizer's: "a gorgeous , witty , seductive movie ."), each labelled.
    assert page.locator("#verdict svg.curve circle").count() == 8
    assert page.locator("#verdict svg.curve text.word").all_text_contents()[:3] == ["a", "gorgeous", ","]

    page.fill("input[name=sentence]", "")
    page.click("button[type=submit]")
    error = page.locator("main > .error")
    error.wait_for(state="visible")
    assert "sentence is empty" in error.inner_text()


def test_the_gradients_button_shows_progress_then_the_plots(page):
    page.goto("/gradients")
    assert page.locator(".outputs .empty").is_visible()
    page.click(".job .run")
    page.wait_for_selector(".outputs img[alt='gradient_flow.png']", timeout=90_000)
    for name in ("gradient_flow.png", "exploding.png"):
        image = page.locator(f".outputs img[alt='{name}']")
        image.evaluate("img => img.decode()")
        assert image.evaluate("img => img.naturalWidth") > 100
    assert page.locator(".outputs table tbody tr").count() == 4
    assert page.locator(".job .run").is_enabled()
    assert page.locator(".progress-box").is_hidden()


def test_the_long_term_page_offers_its_button(page):
    page.goto("/longterm")
    assert page.locator(".job .run").inner_text() == "Make them"
    assert "Nothing made yet" in page.locator(".outputs").inner_text()


def test_an_unknown_page_says_so(page):
    page.goto("/no-such-page")
    assert "no such page: /no-such-page" in page.locator(".error").inner_text()
    assert page.locator("nav a").count() == 5
