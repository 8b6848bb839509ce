"""Streamed text reaches the page in batches: many deltas, few state updates, and the
first text without waiting."""

from __future__ import annotations

import asyncio
import itertools

from promptgen.streaming import COALESCE_S, DeltaCoalescer


async def test_a_burst_of_tokens_is_the_first_at_once_then_one_state_update() -> None:
    updates: list[str] = []

    async def show(text: str) -> None:
        updates.append(text)

    coalescer = DeltaCoalescer(show)
    await coalescer.add("t0 ")
    await asyncio.sleep(0)  # one loop tick: the first token is on the page
    assert updates == ["t0 "]
    for i in range(1, 200):  # a provider's burst: 199 more tokens within one interval
        await coalescer.add(f"t{i} ")
    await asyncio.sleep(0)
    assert updates == ["t0 "]  # nothing sent per token
    await asyncio.sleep(COALESCE_S * 3)
    assert updates == ["t0 ", "".join(f"t{i} " for i in range(1, 200))]
    assert coalescer.flushes == 2


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


async def test_updates_are_an_interval_apart() -> None:
    loop = asyncio.get_running_loop()
    sent_at: list[float] = []

    async def show(text: str) -> None:
        sent_at.append(loop.time())

    coalescer = DeltaCoalescer(show)
    for _ in range(40):  # a token every 5 ms for 200 ms
        await coalescer.add("x")
        await asyncio.sleep(0.005)
    await coalescer.aclose()
    gaps = [b - a for a, b in itertools.pairwise(sent_at)]
    assert len(sent_at) >= 2
    assert all(gap >= COALESCE_S * 0.9 for gap in gaps[:-1]), gaps  # aclose may come sooner


async def test_close_while_a_batch_is_being_sent_loses_nothing() -> None:
    updates: list[str] = []
    sending = asyncio.Event()
    release = asyncio.Event()

    async def slow_show(text: str) -> None:
        sending.set()
        await release.wait()  # the page's state lock is busy
        updates.append(text)

    coalescer = DeltaCoalescer(slow_show)
    await coalescer.add("whole answer")
    await sending.wait()
    closing = asyncio.ensure_future(coalescer.aclose())
    await asyncio.sleep(0.01)
    release.set()
    await closing
    assert updates == ["whole answer"]
