"""A streamed answer reaches the page coalesced: a provider sending many small deltas quickly
becomes a few websocket messages (promptgen/streaming.py), and the page ends with every token."""

from __future__ import annotations

import json

from playwright.sync_api import Page, expect

from tests.e2e.test_foundation import sign_up
from tests.e2e.test_generation import _pick
from tests.support.app_server import AppServer
from tests.support.fake_providers import FakeOpenAI

TOKENS = 200


def _output_values(payload: str | bytes) -> list[str]:
    """The dashboard's `result_output` values in one Socket.IO frame from the server."""
    text = payload.decode(errors="replace") if isinstance(payload, bytes) else payload
    if "result_output" not in text or "[" not in text:
        return []
    message = json.loads(text[text.index("[") :])
    values = []
    for update in message[1:]:
        for state in (update.get("delta") or {}).values():
            values += [v for k, v in state.items() if k.startswith("result_output")]
    return values


def test_many_small_deltas_reach_the_page_in_a_few_frames(
    page: Page, app_server: AppServer, fake_openai: FakeOpenAI
) -> None:
    frames: list[str | bytes] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda frame: frames.append(frame)))
    sign_up(page, app_server)
    words = [f"tok{i}" for i in range(TOKENS)]
    answer = " ".join(words)
    # One word per streamed event, a millisecond apart: hundreds of deltas a second.
    fake_openai.reply, fake_openai.chunks, fake_openai.chunk_delay_s = answer, TOKENS, 0.001
    try:
        _pick(page, "GPT-4.1 mini", "a walnut desk lamp")
        seen = len(frames)
        page.click("#generate")
        expect(page.locator("#result-output")).to_contain_text(words[-1])
        expect(page.locator("#generate")).to_be_enabled()
    finally:
        fake_openai.reply, fake_openai.chunks, fake_openai.chunk_delay_s = None, 3, 0.0

    shown = [value for frame in frames[seen:] for value in _output_values(frame)]
    text_frames = [value for value in shown if value]
    # Coalesced: far fewer messages than deltas, not one per token ...
    assert 1 <= len(text_frames) <= TOKENS // 5, len(text_frames)
    # ... each one the answer so far, growing, and the last one all of it.
    assert all(answer.startswith(value) for value in text_frames)
    assert text_frames[-1] == answer
    expect(page.locator("#result-output")).to_contain_text(answer)
