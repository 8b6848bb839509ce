"""One button whose handler sets a var, and the var on the page: Reflex's own event round
trip (click, websocket, handler, state delta, React render) with nothing of PromptGen's."""

import reflex as rx


class State(rx.State):
    count: int = 0

    @rx.event
    def bump(self):
        self.count += 1


def index() -> rx.Component:
    return rx.container(
        rx.button("Bump", id="bump", on_click=State.bump),
        rx.text(State.count, id="count"),
    )


app = rx.App()
app.add_page(index, route="/")
