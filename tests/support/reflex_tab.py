"""A browser tab without the browser: Reflex's websocket protocol (engine.io 4 and socket.io 5
over one websocket on `/_event`), spoken as Reflex's frontend (utils/state.js) speaks it.

The tab sends the hydrate-and-load event in the socket.io CONNECT packet, then page events
by handler name, and merges the state deltas Reflex sends back into `vars`
({state name: {var name: value}}). The session cookie is the one a browser holds after
signing in. Used by the scale benchmark (1,000 tabs in one process) and by tests that need
many tabs or exact timing around one event.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from promptgen.services.accounts import SESSION_COOKIE

TAB_TIMEOUT_S = 180
ROOT_STATE = "reflex___state____state"
HYDRATE = f"{ROOT_STATE}.hydrate_and_load"
DASHBOARD_SUFFIX = "dashboard____dashboard_state"
# socket.io packets on Reflex's namespace (the frontend names it by the URL's path): CONNECT,
# EVENT and CONNECT_ERROR, each after engine.io's MESSAGE type "4".
CONNECT, EVENT, CONNECT_ERROR = "40/_event,", "42/_event,", "44/_event,"


@dataclass
class Outcome:
    """One Generate: seconds from the click to the result (or error) showing, and the error
    the page shows ("" for a result)."""

    seconds: float
    error: str = ""


@dataclass
class Tab:
    """One open dashboard tab (`Tab.open`), its state as the page would hold it."""

    ws: ClientConnection
    path: str
    vars: dict[str, dict[str, Any]] = field(default_factory=dict)
    waiters: list[tuple[Callable[[], bool], asyncio.Future]] = field(default_factory=list)
    error_shown: bool = False  # an error reached the page since the last Generate
    reader: asyncio.Task | None = None

    @classmethod
    async def open(cls, base_url: str, session_token: str, path: str = "/dashboard") -> Tab:
        host = base_url.split("://", 1)[1]
        ws = await connect(
            f"ws://{host}/_event/?EIO=4&transport=websocket&token={uuid.uuid4()}",
            additional_headers={
                "Cookie": f"{SESSION_COOKIE}={session_token}",
                "Origin": base_url,
            },
            compression=None,
            max_size=None,
            ping_interval=None,  # engine.io pings from the server; the reader answers them
            open_timeout=TAB_TIMEOUT_S,
            close_timeout=2,
        )
        opening = await ws.recv()
        if not str(opening).startswith("0"):
            await ws.close()
            raise RuntimeError(f"unexpected engine.io opening: {opening!r}")
        tab = cls(ws, path)
        tab.reader = asyncio.create_task(tab._read())
        # As the frontend does: the hydrate event rides in the socket.io CONNECT packet.
        await ws.send(CONNECT + json.dumps({"event": tab._event(HYDRATE, {})}))
        await tab.wait_for(lambda: tab.vars.get(ROOT_STATE, {}).get("is_hydrated_rx_state_"))
        return tab

    def _event(self, name: str, payload: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": name,
            "payload": payload,
            "router_data": {"pathname": self.path, "asPath": self.path},
        }

    @property
    def dashboard(self) -> str:
        return next(name for name in self.vars if name.endswith(DASHBOARD_SUFFIX))

    def var(self, name: str) -> Any:
        """A var of the dashboard or of one of its substates (what a run changes lives in
        its own), as the page holds it now."""
        key = name + "_rx_state_"
        for state, values in self.vars.items():
            if state.startswith(self.dashboard) and key in values:
                return values[key]
        return None

    async def emit(self, handler: str, **payload: Any) -> None:
        event = self._event(f"{self.dashboard}.{handler}", payload)
        await self.ws.send(EVENT + json.dumps(["event", event]))

    async def _read(self) -> None:
        reason: BaseException = ConnectionError("the websocket closed")
        try:
            async for message in self.ws:
                if message == "2":  # engine.io ping
                    await self.ws.send("3")
                elif isinstance(message, str) and message.startswith(EVENT):
                    name, *args = json.loads(message[len(EVENT) :])
                    if name == "event" and args:
                        self._apply(args[0])
                elif isinstance(message, str) and message.startswith(CONNECT_ERROR):
                    reason = RuntimeError(f"connection refused: {message[:200]}")
                    break
        except ConnectionClosed as exc:
            reason = exc
        for _, future in self.waiters:
            if not future.done():
                future.set_exception(reason)
        self.waiters.clear()

    def _apply(self, update: dict[str, Any]) -> None:
        for event in update.get("events") or []:
            if event.get("name") == "_redirect":
                reason = RuntimeError(f"redirected: {event.get('payload')}")
                for _, future in self.waiters:
                    if not future.done():
                        future.set_exception(reason)
                self.waiters.clear()
                return
        for state, values in (update.get("delta") or {}).items():
            self.vars.setdefault(state, {}).update(values)
            if DASHBOARD_SUFFIX in state and values.get("error_rx_state_"):
                self.error_shown = True
        still = []
        for predicate, future in self.waiters:
            if future.done():
                continue
            if predicate():
                future.set_result(None)
            else:
                still.append((predicate, future))
        self.waiters = still

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = TAB_TIMEOUT_S) -> None:
        if predicate():
            return
        future = asyncio.get_running_loop().create_future()
        self.waiters.append((predicate, future))
        await asyncio.wait_for(future, timeout)

    async def prepare(self, blueprint_id: int, model_id: int) -> None:
        await self.emit("choose_blueprint", blueprint_id=blueprint_id)
        await self.emit("choose_model", model_id=str(model_id))
        await self.wait_for(
            lambda: (
                self.var("selected_blueprint_id") == blueprint_id
                and self.var("selected_model_id") == str(model_id)
            )
        )

    async def generate(self, form: dict[str, Any], timeout: float = TAB_TIMEOUT_S) -> Outcome:
        """Press Generate; wait until the result (or an error) shows."""
        before = self.var("result_prompt_id")
        self.error_shown = False

        def shown() -> bool:
            return self.error_shown or self.var("result_prompt_id") not in (before, None, "")

        started = time.perf_counter()
        try:
            await self.emit("generate", form_data=form)
            await self.wait_for(shown, timeout)
        except Exception as exc:  # a timeout, a closed socket: counted as a failure
            return Outcome(time.perf_counter() - started, f"{type(exc).__name__}: {exc}"[:200])
        return Outcome(time.perf_counter() - started, self.var("error") or "")

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
        if self.reader is not None:
            with contextlib.suppress(BaseException):
                await self.reader
