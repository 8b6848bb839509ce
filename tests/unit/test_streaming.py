"""Streamed text reaches the page in batches: many deltas, few state updates."""

from __future__ import annotations

import asyncio

from promptgen.streaming import COALESCE_S, DeltaCoalescer


async def test_a_burst_of_tokens_is_one_state_update() -> None:
    updates: list[str] = []

    async def show(text: str) -> None:
        updates.append(text)

    coalescer = DeltaCoalescer(show)
    for i in range(200):  # a provider's burst: 200 tokens within one interval
        await coalescer.add(f"t{i} ")
    assert updates == []  # nothing sent per token
    await asyncio.sleep(COALESCE_S * 3)
    assert updates == ["".join(f"t{i} " for i in range(200))]


async def test_later_tokens_make_a_new_batch_and_close_sends_the_rest() -> None:
    updates: list[str] = []

    async def show(text: str) -> None:
        updates.append(text)

    coalescer = DeltaCoalescer(show)
    await coalescer.add("Hello")
    await coalescer.add(", ")
    await asyncio.sleep(COALESCE_S * 3)
    await coalescer.add("world")
    await coalescer.add("!")
    await coalescer.aclose()  # the stream ended: no waiting for the timer
    assert updates == ["Hello, ", "world!"]
    assert coalescer.flushes == 2
    await coalescer.aclose()  # nothing left: nothing sent
    assert coalescer.flushes == 2
