"""Own blueprints in the browser: build one in the form builder (every kind of field, reorder,
remove, insert variables, live preview, errors naming the field), generate with it on the
dashboard (offline model), edit it, compare two versions and two generations, restore."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.test_foundation import sign_up
from tests.support.app_server import AppServer

OFFLINE = "Blueprint compiler (offline)"


def _field(page: Page, index: int, attribute: str):
    return page.locator(f"#field-{index}-{attribute}")


def _generate_offline(page: Page, subject: str) -> None:
    page.fill("#field-subject", subject)
    page.locator(f'.model-card[data-model="{OFFLINE}"]').click()
    page.click("#generate")


def test_build_generate_edit_diff_and_restore(page: Page, app_server: AppServer) -> None:
    sign_up(page, app_server)
    page.get_by_role("link", name="Blueprints").first.click()
    expect(page).to_have_url(re.compile(r"/blueprints/?$"))
    page.click("#new-blueprint")
    expect(page).to_have_url(re.compile(r"/blueprints/new/?$"))
    expect(page.locator("#preview-prompt")).to_contain_text("Write about Sample text.")

    page.fill("#blueprint-name", "Poster")
    # A single choice, a whole number with a range, a yes/no and a long text to remove.
    page.click(".add-field[data-kind=select]")
    _field(page, 1, "label").fill("Colour")
    expect(page.locator(".builder-field").nth(1)).to_contain_text("{{ colour }}")
    _field(page, 1, "options").fill("red\nblue | Deep blue")
    _field(page, 1, "default").fill("red")
    page.click(".add-field[data-kind=integer]")
    _field(page, 2, "label").fill("Copies")
    _field(page, 2, "minimum").fill("1")
    _field(page, 2, "maximum").fill("5")
    _field(page, 2, "default").fill("2")
    page.click(".add-field[data-kind=textarea]")
    _field(page, 3, "label").fill("Notes")
    page.click(".add-field[data-kind=boolean]")
    _field(page, 4, "label").fill("Framed")
    _field(page, 4, "help").fill("Add a frame around it")
    _field(page, 4, "default").fill("yes")
    # Remove "Notes", then move "Framed" above "Copies" with the keyboard.
    page.get_by_role("button", name="Remove field Notes").click()
    expect(page.locator(".builder-field")).to_have_count(4)
    move_up = page.get_by_role("button", name="Move field Framed up")
    move_up.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".builder-field").nth(2)).to_contain_text("{{ framed }}")
    expect(page.locator(".builder-field").nth(3)).to_contain_text("{{ copies }}")

    # The template: typed, plus variables inserted by clicking.
    page.fill("#template-editor", "Poster of {{ subject }} in")
    page.get_by_role("button", name="Insert variable colour").click()
    expect(page.locator("#template-editor")).to_have_value(
        "Poster of {{ subject }} in {{ colour }}"
    )
    page.fill(
        "#template-editor",
        "Poster of {{ subject }} in {{ colour }}, {{ copies }} copies."
        "{% if framed %} Framed.{% endif %} {{ size }}",
    )
    # A field without a label and a variable no field defines: refused, each named.
    page.click(".add-field[data-kind=text]")
    _field(page, 4, "label").fill("")
    page.click("#save-blueprint")
    expect(page.locator("#save-problems")).to_contain_text("fields[4].label: required")
    page.get_by_role("button", name=re.compile(r"^Remove field")).last.click()
    page.click("#save-blueprint")
    expect(page.locator("#save-problems")).to_contain_text("template: unknown variable {{ size }}")
    expect(page).to_have_url(re.compile(r"/blueprints/new/?$"))  # nothing saved, nothing lost
    page.fill(
        "#template-editor",
        "Poster of {{ subject }} in {{ colour }}, {{ copies }} copies."
        "{% if framed %} Framed.{% endif %}",
    )

    # The live preview renders the form and the prompt from sample values.
    expect(page.locator("#preview-prompt")).to_have_text(
        "Poster of Sample text in red, 2 copies. Framed."
    )
    page.fill("#preview-subject", "a heron")
    page.select_option("#preview-colour", "blue")
    expect(page.locator("#preview-prompt")).to_have_text(
        "Poster of a heron in blue, 2 copies. Framed."
    )
    expect(page.locator("#preview-form")).to_contain_text("Deep blue")

    page.fill("#version-note", "first draft")
    page.click("#save-blueprint")
    expect(page).to_have_url(re.compile(r"/blueprints/[0-9a-f-]{36}/?$"))
    blueprint_url = page.url.rstrip("/")
    expect(page.locator("#builder-version")).to_have_text("v1")

    # Generate with it on the dashboard: the own section of the picker has it chosen.
    page.click("#use-blueprint")
    expect(page).to_have_url(re.compile(r"/dashboard\?blueprint=user:"))
    expect(page.locator(".own-blueprint-card", has_text="Poster")).to_be_visible()
    _generate_offline(page, "a lighthouse")
    expect(page.locator("#result-output")).to_have_text(
        "Poster of a lighthouse in red, 2 copies. Framed."
    )

    # Edit: a new template line and a relabelled field make version 2.
    page.goto(blueprint_url)
    expect(page.locator("#builder-version")).to_have_text("v1")
    _field(page, 1, "label").fill("Main colour")
    page.fill(
        "#template-editor",
        "Large poster of {{ subject }} in {{ colour }}, {{ copies }} copies."
        "{% if framed %} Framed.{% endif %}",
    )
    page.fill("#version-note", "bigger")
    page.click("#save-blueprint")
    expect(page.locator("#blueprint-message")).to_have_text("Saved as version 2.")
    expect(page.locator("#builder-version")).to_have_text("v2")

    # Generate with version 2, picked from the dashboard's own section.
    page.goto(app_server.url + "/dashboard")
    page.locator(".own-blueprint-card", has_text="Poster").click()
    _generate_offline(page, "a harbour")
    expect(page.locator("#result-output")).to_have_text(
        "Large poster of a harbour in red, 2 copies. Framed."
    )
    # The history entry records the version it used.
    page.get_by_role("link", name="History").first.click()
    page.locator(".history-open").first.click()
    expect(page.locator("#detail-blueprint-version")).to_have_text("v2")

    # Versions: the template diff, the field changes, and the two generations compared.
    page.goto(blueprint_url + "/versions")
    expect(page.locator(".version-row")).to_have_count(2)
    template_diff = page.locator("#template-diff")
    expect(template_diff.locator("tr[data-kind=removed]")).to_contain_text(
        "Poster of {{ subject }}"
    )
    expect(template_diff.locator("tr[data-kind=added]")).to_contain_text(
        "Large poster of {{ subject }}"
    )
    expect(template_diff.locator("tr[data-kind=added] .sr-only")).to_have_text("Added line")
    expect(page.locator("#schema-diff")).to_contain_text("Label: Colour → Main colour")
    subject_row = page.locator("#inputs-diff tr.input-change", has_text="subject")
    expect(subject_row).to_contain_text("a lighthouse")
    expect(subject_row).to_contain_text("a harbour")
    expect(subject_row).to_contain_text("changed")
    expect(page.locator("#output-diff tr[data-kind=added]")).to_contain_text("Large poster")
    page.select_option("#old-version", "2")
    expect(page.locator("#schema-diff-empty")).to_be_visible()

    # Restore version 1: a new version 3, history stays linear.
    page.get_by_role("button", name="Restore v1").click()
    expect(page.locator("#blueprint-message")).to_have_text("Restored version 1 as version 3.")
    expect(page.locator(".version-row")).to_have_count(3)
    expect(page.locator(".version-row").first).to_contain_text("restored from v1")
    page.goto(blueprint_url)
    expect(page.locator("#builder-version")).to_have_text("v3")
    expect(page.locator("#template-editor")).to_have_value(
        "Poster of {{ subject }} in {{ colour }}, {{ copies }} copies."
        "{% if framed %} Framed.{% endif %}"
    )


def test_catalog_copy_and_another_users_blueprint(
    page: Page, browser, app_server: AppServer
) -> None:
    sign_up(page, app_server)
    page.goto(app_server.url + "/blueprints")
    page.get_by_role("button", name="Make a private copy of Portrait").click()
    expect(page).to_have_url(re.compile(r"/blueprints/[0-9a-f-]{36}/?$"))
    expect(page.locator("#blueprint-name")).to_have_value("Portrait (copy)")
    expect(page.locator(".builder-field")).to_have_count(6)
    own_url = page.url.rstrip("/")

    # Someone else cannot open it, its versions, or generate with it.
    other = browser.new_context()
    try:
        intruder = other.new_page()
        sign_up(intruder, app_server)
        intruder.goto(own_url)
        expect(intruder.locator("#not-found")).to_be_visible()
        intruder.goto(own_url + "/versions")
        expect(intruder.locator("#not-found")).to_be_visible()
        blueprint_id = own_url.rsplit("/", 1)[-1]
        intruder.goto(app_server.url + f"/dashboard?blueprint=user:{blueprint_id}")
        expect(intruder.locator("#generate-error")).to_contain_text(
            "That blueprint does not exist, or is not yours."
        )
        expect(intruder.locator(".own-blueprint-card")).to_have_count(0)
    finally:
        other.close()

    # Delete it (with a confirmation step).
    page.goto(app_server.url + "/blueprints")
    page.get_by_role("button", name="Delete Portrait (copy)").click()
    page.click(".confirm-delete")
    expect(page.locator("#blueprint-message")).to_have_text("Deleted Portrait (copy).")
    expect(page.locator(".own-blueprint")).to_have_count(0)
