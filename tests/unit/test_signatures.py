"""Mixing visual signatures into one clause, and checking previews, without a database."""

from __future__ import annotations

import pytest

from promptgen.blueprints import compile_prompt
from promptgen.services.signatures import (
    MAX_PREVIEW_BYTES,
    PreviewRejected,
    SignatureChoice,
    SignatureChoiceError,
    WeightedStyle,
    check_choices,
    check_preview,
    combine,
    shares,
    swatch_gradient,
)

NOIR = WeightedStyle("Cinematic Noir", "hard key light, deep shadows", 7)
NEON = WeightedStyle("Neon Cyberpunk", "neon magenta and cyan glow", 3)
GOLD = WeightedStyle("Golden Hour", "warm backlight", 1)


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        ([5], [100]),
        ([7, 3], [70, 30]),
        ([1, 1, 1], [34, 33, 33]),  # the remainder goes to the earlier pick
        ([10, 5, 1], [63, 31, 6]),
        ([2, 2], [50, 50]),
    ],
)
def test_shares_are_whole_percentages_that_add_up_to_100(weights, expected) -> None:
    assert shares(weights) == expected
    assert sum(shares(weights)) == 100


def test_one_signature_reads_as_it_always_did() -> None:
    clause = combine([NOIR])
    assert (clause.name, clause.style) == ("Cinematic Noir", "hard key light, deep shadows")
    assert combine([]) is None


def test_weighted_signatures_rank_as_dominant_secondary_and_accent() -> None:
    clause = combine([GOLD, NEON, NOIR])  # picked in any order: ranked by weight
    assert clause.name == "Cinematic Noir (64%) + Neon Cyberpunk (27%) + Golden Hour (9%)"
    assert clause.style.startswith(
        "dominant (64%) Cinematic Noir: hard key light, deep shadows; "
        "secondary (27%) Neon Cyberpunk: neon magenta and cyan glow; "
        "accent (9%) Golden Hour: warm backlight."
    )
    assert "Let Cinematic Noir set the overall look" in clause.style


def test_equal_weights_make_an_even_blend_in_pick_order() -> None:
    clause = combine([WeightedStyle("A", "a style", 4), WeightedStyle("B", "b style", 4)])
    assert clause.name == "an even blend of A and B"
    assert clause.style.startswith("A: a style; B: b style.")


def test_the_same_mix_always_compiles_to_the_same_prompt() -> None:
    def compiled() -> str:
        clause = combine([NOIR, NEON])
        return compile_prompt(
            prompt_template="A photo of {{ thing }}.",
            parameters={"thing": "a lamp"},
            signature_name=clause.name,
            signature_style=clause.style,
        )

    first = compiled()
    assert first == compiled()
    assert first.startswith("A photo of a lamp.\n\nVisual signature — Cinematic Noir (70%)")


@pytest.mark.parametrize(
    ("choices", "message"),
    [
        (
            [SignatureChoice(i) for i in (1, 2, 3, 4)],
            "Pick at most 3 visual signatures (you picked 4).",
        ),
        (
            [SignatureChoice(1), SignatureChoice(1)],
            "Each visual signature can be picked only once.",
        ),
        ([SignatureChoice(1, 0)], "Signature weights go from 1 to 10 (one is 0)."),
        ([SignatureChoice(1, 11)], "Signature weights go from 1 to 10 (one is 11)."),
        ([SignatureChoice(1, True)], "A signature weight must be a whole number."),
    ],
)
def test_bad_mixes_are_refused_with_a_clear_message(choices, message) -> None:
    with pytest.raises(SignatureChoiceError) as caught:
        check_choices(choices)
    assert caught.value.message == message


def test_three_distinct_signatures_in_range_pass() -> None:
    picks = [SignatureChoice(1, 1), SignatureChoice(2, 10), SignatureChoice(3)]
    assert check_choices(picks) == tuple(picks)


def test_previews_are_checked_by_their_bytes_and_size() -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    webp = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 32
    assert check_preview("a.png", png).mime_type == "image/png"
    assert check_preview("a.webp", webp).mime_type == "image/webp"
    with pytest.raises(PreviewRejected, match="not a PNG, JPEG or WebP image"):
        check_preview("evil.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>')
    with pytest.raises(PreviewRejected, match="not a PNG, JPEG or WebP"):
        check_preview("renamed.png", b"GIF89a" + b"\x00" * 32)
    with pytest.raises(PreviewRejected, match="at most 512 KB"):
        check_preview("big.png", png + b"\x00" * MAX_PREVIEW_BYTES)


def test_a_swatch_is_drawn_only_from_hex_colours() -> None:
    assert swatch_gradient(["#112233"]) == "#112233"
    gradient = swatch_gradient(["#112233", "#aabbcc"])
    assert gradient == "linear-gradient(135deg, #112233 0% 50%, #aabbcc 50% 100%)"
    assert swatch_gradient(["red; background: url(x)"]) == "#888888"
