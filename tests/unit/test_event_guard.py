"""Every public event handler of our states refuses junk arguments before it runs."""

from __future__ import annotations

import inspect
import typing

import pytest

from promptgen.promptgen import app
from promptgen.state.guard import Junk, _hints, check_event

OURS = {
    name: registered
    for name, registered in app._registration_context.event_handlers.items()
    if registered.handler.fn.__module__.startswith("promptgen.")
}

# A valid value for each annotation our handlers use, and junk that must be refused.
VALID = {
    int: 3,
    str: "abc",
    bool: True,
    dict: {"__reflex_form_data__": [["a", "b"], ["tags", "x"], ["tags", "y"]]},
}
JUNK = {
    int: ["abc", 10**12, 1.5, None, True, [1], {"a": 1}],
    str: [1, None, ["a"], {"a": 1}, "x" * 5000],
    bool: ["yes", 1, None, []],
    dict: [
        "junk",
        5,
        ["a"],
        {"a": {"nested": 1}},
        {str(n): "v" for n in range(500)},
        {"__reflex_form_data__": "junk"},
        {"__reflex_form_data__": [["a", {"nested": 1}]]},
        {"__reflex_form_data__": [["a"]]},
        {"__reflex_form_data__": [], "extra": 1},
    ],
}


def _kind(hint: object) -> object:
    origin = typing.get_origin(hint) or hint
    return {dict: dict, list: list}.get(origin, hint)


def _parameters(registered):
    fn = registered.handler.fn
    hints = _hints(registered)
    params = list(inspect.signature(fn).parameters)[1:]
    return fn, hints, params


def test_every_handler_of_ours_is_covered() -> None:
    # Sanity: the app registers our handlers, with arguments of the kinds this test knows.
    assert len(OURS) >= 30
    for registered in OURS.values():
        _, hints, params = _parameters(registered)
        for name in params:
            assert name in hints, f"{registered.handler.fn.__qualname__}({name}) has no annotation"


@pytest.mark.parametrize("name", sorted(OURS))
def test_each_handler_refuses_junk_and_takes_good_arguments(name: str) -> None:
    fn, hints, params = _parameters(OURS[name])
    with pytest.raises(Junk):
        check_event(fn, hints, {"unexpected": 1})
    with pytest.raises(Junk):
        check_event(fn, hints, "not an object")
    if not params:
        check_event(fn, hints, {})
        return
    with pytest.raises(Junk, match="missing argument"):
        check_event(fn, hints, {})
    goods = {param: _good(hints[param]) for param in params}
    for param in params:
        kind = _kind(hints[param])
        if kind is list:  # the upload handler: only files, which a browser cannot forge
            with pytest.raises(Junk):
                check_event(fn, hints, {**goods, param: ["not a file"]})
            continue
        # The other arguments good, so each check is about this one.
        check_event(fn, hints, goods)
        for junk in JUNK.get(kind, [{"a": {"b": 1}}]):
            with pytest.raises(Junk):
                check_event(fn, hints, {**goods, param: junk})
        if len(params) > 1:
            with pytest.raises(Junk, match="missing argument"):
                check_event(fn, hints, {p: v for p, v in goods.items() if p != param})


def _good(hint: object) -> object:
    kind = _kind(hint)
    if kind is list:
        return []
    options = typing.get_args(hint) if kind not in VALID else (kind,)
    return VALID[_kind(options[0])]


def test_a_plain_form_dict_passes_too() -> None:
    fn, hints, _ = _parameters(OURS[next(n for n in OURS if n.endswith("apply_filters"))])
    check_event(fn, hints, {"form_data": {"search": "lamp", "tags": ["a", "b"], "n": 3}})


def test_numbers_as_the_browser_sends_them_pass() -> None:
    def handler(self, blueprint_id: int, value: str | list[str]) -> None: ...

    check_event(handler, typing.get_type_hints(handler), {"blueprint_id": "12", "value": ["a"]})
    with pytest.raises(Junk, match="out of range"):
        check_event(handler, typing.get_type_hints(handler), {"blueprint_id": 2**31, "value": "a"})
