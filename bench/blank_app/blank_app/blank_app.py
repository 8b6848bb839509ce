"""The yardstick app: one button whose handler sets a var (Reflex's own event round trip:
click, websocket, handler, state delta, React render), and a page load that fills a var in
its on_load handler (navigation to content), with nothing of PromptGen's."""

import reflex as rx


class State(rx.State):
    count: int = 0
    greeting: str = ""

    @rx.event
    def bump(self):
        self.count += 1

    @rx.event
    def load(self):
        self.greeting = "Loaded by the backend"


def index() -> rx.Component:
    return rx.container(
        rx.text(State.greeting, id="greeting"),
        rx.button("Bump", id="bump", on_click=State.bump),
        rx.text(State.count, id="count"),
    )


app = rx.App()
app.add_page(index, route="/", on_load=State.load)
