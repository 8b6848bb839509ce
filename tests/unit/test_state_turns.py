"""A worker's tabs hold their state lock a few at a time in background events (issue 14): in
a burst of 1,000 Generates, hundreds of tabs held their lock while waiting for the CPU behind
each other, past Reflex's lock life. The rest wait for a turn holding nothing."""

from __future__ import annotations

import asyncio

from promptgen.state.base import STATE_TURNS, locked


class FakeState:
    """Stands for `self` in a background event: `async with` takes the tab's lock."""

    holding = 0
    most = 0

    async def __aenter__(self) -> FakeState:
        FakeState.holding += 1
        FakeState.most = max(FakeState.most, FakeState.holding)
        return self

    async def __aexit__(self, *exc: object) -> None:
        FakeState.holding -= 1


async def test_at_most_state_turns_tabs_hold_their_lock_at_once_and_all_get_a_turn() -> None:
    done = []

    async def step(tab: int) -> None:
        async with locked(FakeState()):
            await asyncio.sleep(0.001)  # reads and writes the state (Redis round trips)
        done.append(tab)

    await asyncio.gather(*(step(tab) for tab in range(10 * STATE_TURNS)))
    assert FakeState.most == STATE_TURNS
    assert sorted(done) == list(range(10 * STATE_TURNS))
