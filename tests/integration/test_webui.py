"""The web page in headless Chromium (Debian's, driven by Playwright) against the real server on
127.0.0.1 with the real bundled model. Screenshots go to test-artifacts/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from app.entrypoints.http import create_app
from tests.conftest import FIXTURES, serving, wait_for
from tests.integration.conftest import PYANNOTE_SAMPLE, real_settings_in
from tests.subtitles import parse_srt

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
FOX = FIXTURES / "en_fox.wav"


@pytest.fixture(scope="module")
def base_url(real_container) -> Iterator[str]:
    with serving(create_app(real_container)) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is installed by `make test`"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    context = browser.new_context(base_url=base_url, accept_downloads=True, viewport={"width": 1000, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def transcribe(page: Page, path: Path) -> None:
    if page.url == "about:blank":
        page.goto("/")
    expect(page.get_by_label("Model")).to_contain_text("default")  # models were listed from /v1/models
    page.set_input_files("#file", str(path))
    page.get_by_role("button", name="Transcribe").click()


def test_upload_read_play_and_export(page: Page, tmp_path: Path):
    page.goto("/")
    page.get_by_label("Response format").select_option("srt")  # the job's format; the page still shows words
    transcribe(page, FOX)
    segments = page.locator("#segments li")
    expect(segments.first).to_be_visible(timeout=120_000)
    expect(page.locator("#segments")).to_contain_text("fox")
    assert page.locator("#job-progress").evaluate("p => p.value") == 1
    screenshot(page, "webui-transcript")

    second = segments.nth(1)
    start = float(second.get_attribute("data-start"))
    page.wait_for_function("document.getElementById('player').readyState >= 1")
    second.get_by_role("button").click()
    position = page.evaluate("document.getElementById('player').currentTime")
    assert abs(position - start) < 0.05, "clicking a segment seeks the audio to it"
    word = page.locator(".word").nth(2)
    word.click()
    assert (
        abs(page.evaluate("document.getElementById('player').currentTime") - float(word.get_attribute("data-start")))
        < 0.05
    )

    # During playback the word being spoken is highlighted.
    page.evaluate(
        f"const p = document.getElementById('player'); p.pause(); p.currentTime = "
        f"{float(word.get_attribute('data-start')) + 0.01}; p.dispatchEvent(new Event('timeupdate'))"
    )
    expect(word).to_have_class("word now")

    with page.expect_download() as download:
        page.get_by_role("button", name="SRT", exact=True).click()
    assert download.value.suggested_filename == "en_fox.srt"
    saved = tmp_path / "en_fox.srt"
    download.value.save_as(saved)
    cues = parse_srt(saved.read_text())
    assert cues and "fox" in cues[0].text.lower() and cues[0].start < cues[0].end


def test_speakers_get_colours_and_a_timeline(page: Page):
    page.goto("/")
    page.get_by_label("Label speakers").check()
    transcribe(page, PYANNOTE_SAMPLE / "sample.wav")
    expect(page.locator("#segments li").first).to_be_visible(timeout=180_000)
    expect(page.locator("#legend")).to_contain_text("SPEAKER_00")
    expect(page.locator("#legend")).to_contain_text("SPEAKER_01")
    colours = page.locator("#timeline span").evaluate_all("turns => [...new Set(turns.map(t => t.style.background))]")
    assert len(colours) == 2, "one colour per speaker on the timeline"
    screenshot(page, "webui-speakers")


def test_a_speaker_named_on_the_page_is_recognised_in_the_next_transcription(page: Page, base_url: str, request):
    page.goto("/")
    page.get_by_label("Label speakers").check()
    transcribe(page, PYANNOTE_SAMPLE / "sample.wav")
    expect(page.locator("#segments li").first).to_be_visible(timeout=180_000)
    first = page.locator("#segments .speaker").first.inner_text()
    page.once("dialog", lambda dialog: dialog.accept("Alice"))
    page.get_by_role("button", name=f"Name {first}").first.click()
    expect(page.locator("#legend")).to_contain_text("Alice")
    expect(page.locator(f'#segments .speaker[data-speaker="{first}"]').first).to_have_text("Alice")
    enrolled = page.evaluate("fetch('/v1/speakers').then(r => r.json())")
    assert [s["name"] for s in enrolled["data"]] == ["Alice"]
    request.addfinalizer(lambda: httpx.delete(f"{base_url}/v1/speakers/{enrolled['data'][0]['id']}"))  # shared server
    # The same recording again: the server now names Alice itself (the page sends the enrolled names).
    with page.expect_response(lambda r: "/result?response_format=verbose_json" in r.url, timeout=180_000) as result:
        page.get_by_role("button", name="Transcribe").click()
    assert "Alice" in {s.get("speaker") for s in result.value.json()["segments"]}
    expect(page.locator("#segments .speaker", has_text="Alice").first).to_be_visible()
    screenshot(page, "webui-named-speaker")


def test_a_file_that_is_not_audio_gets_a_readable_error(page: Page, tmp_path: Path):
    notes = tmp_path / "notes.txt"
    notes.write_text("These are meeting notes, not a recording.")
    transcribe(page, notes)
    error = page.get_by_role("alert")
    expect(error).to_be_visible(timeout=60_000)
    expect(error).to_contain_text("does not look like audio")
    assert "{" not in error.inner_text(), "no raw JSON"
    screenshot(page, "webui-error")


def test_the_page_asks_for_a_key_when_the_server_needs_one(browser: Browser, tmp_path: Path):
    from app.config.settings import Settings
    from tests.fake_server import fake_container

    settings = Settings.from_env({"DATA_DIR": str(tmp_path), "WHISPER__PRELOAD": "false", "API_KEY": "sk-page"})
    with serving(create_app(fake_container(settings))) as url:
        context = browser.new_context(base_url=url)
        page = context.new_page()
        page.goto("/")
        key = page.get_by_label("Key", exact=True)
        expect(key).to_be_visible()
        key.fill("sk-page")
        page.get_by_role("button", name="Use this key").click()
        expect(page.locator("#key-panel")).to_be_hidden()
        expect(page.get_by_label("Model")).to_contain_text("tiny.en")
        context.close()


def test_the_page_knows_the_servers_limits_and_asks_for_a_key_before_any_401(browser: Browser, tmp_path: Path):
    from app.config.settings import Settings
    from tests.fake_server import fake_container

    settings = Settings.from_env(
        {"DATA_DIR": str(tmp_path), "WHISPER__PRELOAD": "false", "API_KEY": "sk-page", "MAX_UPLOAD_SIZE_BYTES": "1000"}
    )
    with serving(create_app(fake_container(settings))) as url:
        context = browser.new_context(base_url=url)
        page = context.new_page()
        unauthorized: list[str] = []
        page.on("response", lambda response: unauthorized.append(response.url) if response.status == 401 else None)
        page.goto("/")
        expect(page.get_by_label("Key", exact=True)).to_be_visible()
        assert unauthorized == [], "GET /info said a key is needed; nothing was tried without one"
        page.get_by_label("Key", exact=True).fill("sk-page")
        page.get_by_role("button", name="Use this key").click()
        page.set_input_files("#file", str(FOX))  # 200 kB, over this server's 1000 bytes
        expect(page.get_by_role("alert")).to_contain_text("larger than the server accepts")
        context.close()


def test_phone_width_and_keyboard(browser: Browser, base_url: str):
    context = browser.new_context(base_url=base_url, viewport={"width": 375, "height": 740})
    page = context.new_page()
    page.goto("/")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "no sideways scrolling"
    for control in (
        "Model",
        "Language",
        "Response format",
        "Hotwords",
        "Prompt",
        "Word timestamps",
        "Align words",
        "Label speakers",
        "Min speakers",
        "Max speakers",
        "Language spoken",
    ):
        # "Language" alone is also in "Language spoken" (Live): that one label is matched exactly.
        expect(page.get_by_label(control, exact=control == "Language")).to_be_visible()
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.id || document.activeElement.tagName")
    assert focused, "the page can be used from the keyboard"
    screenshot(page, "webui-phone")
    context.close()


def test_the_same_file_runs_again_with_other_options(page: Page):
    jobs: list[str] = []
    page.on(
        "request",
        lambda request: (
            jobs.append(request.url)
            if request.method == "POST" and request.url.endswith("/v1/audio/transcriptions")
            else None
        ),
    )
    transcribe(page, FOX)
    expect(page.locator("#segments li").first).to_be_visible(timeout=120_000)
    page.get_by_label("Label speakers").check()  # a changed option, the same recording: no file chosen again
    page.get_by_role("button", name="Transcribe").click()
    expect(page.locator("#segments .speaker").first).to_be_visible(timeout=120_000)
    assert len(jobs) == 2


def test_a_dark_system_gets_the_dark_theme(browser: Browser, base_url: str):
    context = browser.new_context(base_url=base_url, color_scheme="dark")
    page = context.new_page()
    page.goto("/")
    background = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
    text = page.evaluate("getComputedStyle(document.body).color")
    assert background == "rgb(18, 19, 22)" and text == "rgb(230, 230, 230)"
    screenshot(page, "webui-dark")
    context.close()
    light = browser.new_context(base_url=base_url, color_scheme="light").new_page()
    light.goto("/")
    assert light.evaluate("getComputedStyle(document.documentElement).backgroundColor") == "rgb(250, 250, 250)"
    light.context.close()


@contextmanager
def page_with_microphone(browser: Browser, base_url: str, recording: Path = FOX) -> Iterator[Page]:
    """The page in a second Chromium whose fake microphone plays `recording` once, then silence
    (ending the turn)."""
    with closing(
        browser.browser_type.launch(
            executable_path=shutil.which("chromium"),
            args=[
                "--no-sandbox",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={recording}%noloop",
                # WebRTC calls on loopback only, with plain addresses (no mDNS names to resolve).
                "--allow-loopback-in-peer-connection",
                "--disable-features=WebRtcHideLocalIpsWithMdns",
            ],
        )
    ) as browser_with_microphone:
        context = browser_with_microphone.new_context(base_url=base_url, accept_downloads=True)
        context.grant_permissions(["microphone"])
        page = context.new_page()
        page.goto("/")
        yield page


def test_live_mode_shows_who_is_speaking(browser: Browser, base_url: str, tmp_path: Path):
    with page_with_microphone(browser, base_url) as page:
        page.get_by_label("Language spoken").fill("en")
        page.get_by_label("Who is speaking").check()
        page.get_by_role("button", name="Start").click()
        expect(page.locator("#live-turns li .speaker").first).to_have_text("SPEAKER_00", timeout=60_000)
        expect(page.locator("#live-turns li.done").first).to_contain_text("fox", timeout=60_000)
        page.get_by_role("button", name="Stop").click()
        with page.expect_download() as download:
            page.get_by_role("button", name="Download transcript").click()
        saved = tmp_path / "live.txt"
        download.value.save_as(saved)
        assert "SPEAKER_00: " in saved.read_text()


def test_live_mode_shows_the_words_spoken_into_the_microphone(browser: Browser, base_url: str, tmp_path: Path):
    with page_with_microphone(browser, base_url) as page:
        page.get_by_label("Language spoken").fill("en")
        page.get_by_role("button", name="Start").click()
        expect(page.locator("#live-transport")).to_have_text("WebRTC")  # a call, as OpenAI's browser guide
        turns = page.locator("#live-turns li")
        expect(turns.first).to_contain_text("fox", timeout=60_000)
        expect(page.locator("#live-turns li.done").first).to_be_visible(timeout=60_000)
        expect(page.locator("#live-turns")).to_contain_text("sea", timeout=60_000)
        assert page.locator("#live-turns li .time").first.inner_text().startswith("00:")
        screenshot(page, "webui-live")
        page.get_by_role("button", name="Stop").click()
        with page.expect_download() as download:
            page.get_by_role("button", name="Download transcript").click()
        saved = tmp_path / "live.txt"
        download.value.save_as(saved)
        text = saved.read_text()
        assert text.startswith("[00:") and "fox" in text.lower()


def test_live_mode_calls_with_a_client_secret_as_openais_browser_guide(browser: Browser, tmp_path: Path):
    """With a key, the page makes a client secret and calls with it: the key never opens the call."""
    from app.container import build_container

    settings = real_settings_in(tmp_path, API_KEY="sk-page")
    with serving(create_app(build_container(settings))) as url, page_with_microphone(browser, url) as page:
        calls: list[dict[str, str]] = []
        page.on("request", lambda request: calls.append(request.headers) if request.url.endswith("/calls") else None)
        page.get_by_label("Key", exact=True).fill("sk-page")
        page.get_by_role("button", name="Use this key").click()
        page.get_by_label("Language spoken").fill("en")
        page.get_by_role("button", name="Start").click()
        expect(page.locator("#live-turns li.done").first).to_contain_text("fox", timeout=60_000)
        expect(page.locator("#live-transport")).to_have_text("WebRTC")
        assert [c["authorization"][:10] for c in calls] == ["Bearer ek_"], "the call carries the secret, not the key"
        assert calls[0]["content-type"] == "application/sdp"
        page.get_by_role("button", name="Stop").click()
        expect(page.get_by_role("button", name="Start")).to_be_enabled(timeout=15_000)


def test_live_mode_uses_the_websocket_where_the_server_takes_no_calls(browser: Browser, tmp_path: Path):
    from app.container import build_container

    settings = real_settings_in(tmp_path, REALTIME__WEBRTC="false")
    with serving(create_app(build_container(settings))) as url, page_with_microphone(browser, url) as page:
        page.get_by_label("Language spoken").fill("en")
        page.get_by_role("button", name="Start").click()
        expect(page.locator("#live-transport")).to_have_text("WebSocket")
        expect(page.locator("#live-turns li.done").first).to_contain_text("fox", timeout=60_000)


def test_live_mode_gives_way_to_the_websocket_when_the_call_cannot_connect(browser: Browser, tmp_path: Path):
    """UDP to the server blocked: the answer offers an address no packet reaches (TEST-NET-1), so the
    call never connects; after CALL_CONNECT_MS the page hangs it up and talks over the WebSocket."""
    from app.container import build_container

    settings = real_settings_in(tmp_path, REALTIME__WEBRTC_HOSTS="0.0.0.0", REALTIME__WEBRTC_PUBLIC_ADDRESS="192.0.2.1")
    container = build_container(settings)
    call = PYANNOTE_SAMPLE / "sample.wav"  # 30 s of a call: speech goes on after the 5 s spent trying
    with serving(create_app(container)) as url, page_with_microphone(browser, url, call) as page:
        requests: list[str] = []
        page.on("request", lambda request: requests.append(f"{request.method} {request.url.split(url)[-1]}"))
        page.get_by_label("Language spoken").fill("en")
        page.get_by_role("button", name="Start").click()
        expect(page.locator("#live-transport")).to_have_text("WebSocket", timeout=15_000)
        expect(page.locator("#live-turns li.done").first).to_be_visible(timeout=60_000)
        calls = [r for r in requests if "/v1/realtime/calls" in r]
        assert calls[0] == "POST /v1/realtime/calls" and calls[1].startswith("DELETE /v1/realtime/calls/rtc_"), calls
        wait_for(lambda: container.realtime().open_sessions == 1, what="the call hung up, only the socket open")
        page.get_by_role("button", name="Stop").click()
