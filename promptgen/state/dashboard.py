"""Dashboard: pick a blueprint, fill its form, pick a signature and a model, generate."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from typing import Any

import reflex as rx

from promptgen import blueprints, urls
from promptgen.errors import UserFacingError
from promptgen.services import (
    accounts,
    catalog,
    drafts,
    generation,
    history,
    realtime,
    shares,
    studio,
    uploads,
    user_blueprints,
)
from promptgen.services.images import MAX_IMAGES
from promptgen.services.plans import get_plan_summary
from promptgen.services.signatures import SignatureChoice, SignatureChoiceError
from promptgen.state.base import AuthState, locked, run_admin_service, run_service
from promptgen.streaming import COALESCE_S, DeltaCoalescer

MULTI_SEPARATOR = "::"  # checkbox names for multiple choice are "<field>::<option>"
UPLOAD_ID = "reference-images"
GENERATOR_ID = "generator"  # the form (scrolled to when a blueprint is chosen)
RESULT_ID = "result"  # the result panel (scrolled to when a generation starts)

# The running generation of each browser tab is registered in services/realtime, so Cancel
# stops it from whichever instance the tab's websocket is connected to now.


@dataclasses.dataclass
class BlueprintCard:
    id: int
    name: str
    description: str
    category: str = ""


@dataclasses.dataclass
class BlueprintGroup:
    category: str
    cards: list[BlueprintCard]


@dataclasses.dataclass
class OwnBlueprintCard:
    """One of the user's own blueprints in the picker (services/user_blueprints)."""

    id: str
    name: str
    description: str
    version: str


@dataclasses.dataclass
class ModelOption:
    id: str
    label: str
    description: str
    supports_images: bool = False
    # studio.READY, NEEDS_KEY ("needs your key") or UPGRADE (in `plan_needed`, not this plan)
    access: str = studio.READY
    plan_needed: str = ""


@dataclasses.dataclass
class FormField:
    """One parameter as the form renders it (all values as text for the inputs)."""

    name: str
    title: str
    kind: str
    required: bool
    description: str
    placeholder: str
    options: list[str]
    option_labels: list[str]
    default_text: str
    default_checked: bool
    default_selected: list[str]
    hint: str


def _hint(spec: blueprints.FieldSpec) -> str:
    if spec.kind in ("number", "integer"):
        if spec.minimum is not None and spec.maximum is not None:
            return f"Between {spec.minimum} and {spec.maximum}."
        if spec.minimum is not None:
            return f"At least {spec.minimum}."
        if spec.maximum is not None:
            return f"At most {spec.maximum}."
    if spec.max_length:
        return f"Up to {spec.max_length} characters."
    return ""


def _form_field(spec: blueprints.FieldSpec, value: Any) -> FormField:
    labels = list(spec.option_labels) if spec.option_labels else list(spec.options)
    return FormField(
        name=spec.name,
        title=spec.title,
        kind=spec.kind,
        required=spec.required,
        description=spec.description,
        placeholder=spec.placeholder,
        options=list(spec.options),
        option_labels=labels,
        default_text="" if value is None or isinstance(value, bool | list) else str(value),
        default_checked=value is True,
        default_selected=list(value) if isinstance(value, list) else [],
        hint=_hint(spec),
    )


def parameters_from_form(fields: list[FormField], form_data: dict[str, Any]) -> dict[str, Any]:
    """Turn a submitted form back into parameter values for validation."""
    values: dict[str, Any] = {}
    for f in fields:
        if f.kind == "multiselect":
            prefix = f.name + MULTI_SEPARATOR
            values[f.name] = [
                option for option in f.options if form_data.get(prefix + option) not in (None, "")
            ]
        elif f.kind == "boolean":
            values[f.name] = form_data.get(f.name) not in (None, "", False, "off")
        else:
            values[f.name] = form_data.get(f.name, "")
    return values


async def store_draft(
    user_id: uuid.UUID,
    blueprint_id: int,
    values: dict[str, Any],
    choices: tuple[SignatureChoice, ...],
) -> str:
    """Write the form's draft; "" when written, else the reason it was refused (the form
    shows it). Needs no state, so Generate runs it without holding the state lock."""
    try:
        await run_service(
            drafts.save_draft,
            user_id=user_id,
            blueprint_id=blueprint_id,
            values=values,
            signatures=choices,
        )
    except (drafts.DraftTooLarge, SignatureChoiceError) as exc:
        return str(exc)
    return ""


class DashboardState(AuthState):
    blueprint_groups: list[BlueprintGroup] = []
    own_blueprints: list[OwnBlueprintCard] = []
    models: list[ModelOption] = []

    selected_blueprint_id: int = 0
    # The chosen own blueprint's id ("" for none); generation uses its newest version.
    selected_own_blueprint_id: str = ""
    selected_blueprint_name: str = ""
    selected_blueprint_description: str = ""
    fields: list[FormField] = []
    field_errors: dict[str, str] = {}
    form_version: int = 0
    # Only such blueprints show the signature picker (state/signature_picker.py).
    selected_blueprint_takes_signature: bool = False
    selected_model_id: str = ""
    # The blueprints and signatures offered at the last page load (never sent).
    _blueprint_views: dict[int, catalog.BlueprintView] = {}
    # The chosen own blueprint's newest version, for the live preview (never sent).
    _own_view: user_blueprints.UserBlueprintDetail | None = None
    _signature_views: dict[int, catalog.SignatureView] = {}
    # What the form holds now, as typed: the live preview compiles it.
    _values: dict[str, Any] = {}
    preview_prompt: str = ""
    # A generation's own vars (running, result) and focus requests: GenerationState.

    form_notice: str = ""
    error: str = ""
    error_needs_key: bool = False
    image_names: list[str] = []
    # Ids of the reference images waiting in the database (services/uploads.py): the bytes
    # never enter this state, which is pickled to disk or Redis.
    _draft_ids: list[str] = []

    @rx.var
    def image_urls(self) -> list[str]:
        """Where the browser loads each attached image's thumbnail (owner only, api/images.py)."""
        return [urls.draft_image(draft_id) for draft_id in self._draft_ids]

    @rx.event
    async def load(self):
        """Read the catalog fresh, so rows added to the database show on the next load: in
        the same transaction as the plan badge (services/page_loads.py)."""
        page = await self._load_page(
            user_blueprints.studio_with_own, preferred_blueprint_id=self.selected_blueprint_id
        )
        if page.user is None or page.data is None:
            return self._to_sign_in()
        studio_page, own = page.data
        offered = studio_page.catalog
        self.own_blueprints = [
            OwnBlueprintCard(b.id, b.name, b.description, f"v{b.current_version}") for b in own
        ]
        self._blueprint_views = {b.id: b for b in offered.blueprints}
        self._signature_views = {s.id: s for s in offered.signatures}
        groups: dict[str, list[BlueprintCard]] = {}
        for b in offered.blueprints:
            groups.setdefault(b.category, []).append(
                BlueprintCard(b.id, b.name, b.description, b.category)
            )
        self.blueprint_groups = [BlueprintGroup(c, cards) for c, cards in groups.items()]
        (await self._picker())._load_cards(offered.signatures, studio_page.favorite_signature_ids)
        self.models = [
            ModelOption(
                str(m.model.id),
                m.model.display_name,
                m.model.description,
                m.model.supports_images,
                m.access,
                m.plan_needed,
            )
            for m in studio_page.models
        ]
        usable = [m.id for m in self.models if m.access != studio.UPGRADE]
        if self.selected_model_id not in usable:
            ready = [m.id for m in self.models if m.access == studio.READY]
            self.selected_model_id = (ready or usable or [""])[0]
        retry_id = self.router.url.query_parameters.get("retry")
        reference = user_blueprints.parse_reference(
            str(self.router.url.query_parameters.get("blueprint", ""))
        )
        remix_token = self.router.url.query_parameters.get("remix")
        if retry_id:
            await self._load_retry(page.user.user_id, str(retry_id))
        elif remix_token:
            await self._load_remix(page.user.user_id, str(remix_token), reference)
        elif reference is not None and reference.kind == "user":
            await self._select_own_blueprint(page.user.user_id, str(reference.blueprint_id))
        elif self.selected_own_blueprint_id:
            await self._select_own_blueprint(
                page.user.user_id, self.selected_own_blueprint_id, keep_values=True
            )
        elif studio_page.draft_blueprint_id:
            # Back from another page, a reload or a new tab: the form as the user left it
            # (their draft), on the blueprint they were on or else their latest draft.
            # Always rebuilt, never kept: the page mounts a fresh form whose inputs show the
            # fields' values, and what was typed lives only in the draft. No draft read
            # here means none exists (values={} skips a second lookup).
            await self._select_blueprint(
                studio_page.draft_blueprint_id,
                draft=studio_page.draft,
                values=None if studio_page.draft is not None else {},
            )
        elif offered.blueprints:
            # The first in the catalog's order, so the form is there to fill at once.
            await self._select_blueprint(offered.blueprints[0].id)
        return None

    async def _load_remix(
        self, user_id, token: str, own: user_blueprints.BlueprintReference | None
    ) -> None:
        """Fill the form with a shared generation's recipe (Remix on a share page, which
        copied a sharer's own blueprint into this account first and names it in `own`)."""
        recipe = await run_admin_service(shares.remix_recipe, token=token)
        if recipe is None:
            self.error = "That share link no longer works, so there is nothing to remix."
            return
        if own is not None and own.kind == "user":
            await self._select_own_blueprint(
                user_id, str(own.blueprint_id), values=recipe.parameters
            )
        elif recipe.blueprint_id is not None:
            await self._select_blueprint(recipe.blueprint_id, values=recipe.parameters)
        if not self.selected_blueprint_id and not self.selected_own_blueprint_id:
            self.error = "That recipe's blueprint is no longer offered."
            return
        if recipe.signature_id and self.selected_blueprint_takes_signature:
            (await self._picker())._set_picks([SignatureChoice(recipe.signature_id)])
        if str(recipe.model_id) in {m.id for m in self.models}:
            self.selected_model_id = str(recipe.model_id)
        self.form_notice = (
            f"Remixing a shared {recipe.blueprint_name} recipe. Change anything, then press "
            "Generate: it runs in your account."
        )

    async def _picker(self):
        from promptgen.state.signature_picker import SignaturePickerState

        return await self.get_state(SignaturePickerState)

    async def _draft_for(self, blueprint_id: int) -> drafts.Draft | None:
        user = await self._current_user()
        if user is None:
            return None
        return await run_service(drafts.load_draft, user_id=user.user_id, blueprint_id=blueprint_id)

    async def _load_retry(self, user_id, prompt_id: str) -> None:
        """Fill the form from one of the user's earlier generations (Retry in history)."""
        found = await run_service(history.get_history_item, user_id=user_id, prompt_id=prompt_id)
        if found is not None and found.user_blueprint_id:
            await self._select_own_blueprint(
                user_id, found.user_blueprint_id, values=found.parameters
            )
        elif found is None or found.template_id is None:
            self.error = "That generation cannot be retried: its blueprint is gone."
            return
        else:
            await self._select_blueprint(found.template_id, values=found.parameters)
        if not self.selected_blueprint_id and not self.selected_own_blueprint_id:
            self.error = "That generation cannot be retried: its blueprint is no longer offered."
            return
        if found.signature_id and self.selected_blueprint_takes_signature:
            (await self._picker())._set_picks([SignatureChoice(found.signature_id)])
        if str(found.model_id) in {m.id for m in self.models if m.access != studio.UPGRADE}:
            self.selected_model_id = str(found.model_id)
        drafts = await run_service(
            uploads.drafts_from_history, user_id=user_id, prompt_id=uuid.UUID(found.item.id)
        )
        self._draft_ids = [d.id for d in drafts]
        self.image_names = [d.label for d in drafts]
        self.form_notice = "Inputs loaded from your history. Press Generate to run it again."

    async def _select_blueprint(
        self,
        blueprint_id: int,
        *,
        values: dict[str, Any] | None = None,
        draft: drafts.Draft | None = None,
        keep_values: bool = False,
    ) -> None:
        # From the catalog read at page load: choosing a blueprint costs no catalog read.
        view = self._blueprint_views.get(blueprint_id)
        picker = await self._picker()
        if view is None:
            self.selected_blueprint_id = 0
            self.selected_own_blueprint_id = ""
            self.selected_blueprint_takes_signature = False
            self.fields = []
            picker._set_picks([])
            return
        if keep_values and self.selected_blueprint_id == blueprint_id and self.fields:
            return
        # Signatures belong to one blueprint's form: a switch never carries them over.
        picks: tuple[SignatureChoice, ...] = ()
        if values is None and draft is None:
            draft = await self._draft_for(view.id)
        if values is None and draft is not None:
            values, picks = draft.values, draft.signatures
        picker._set_picks(picks if view.takes_signature else ())
        defaults = blueprints.default_values(view.parameter_schema)
        if values:
            defaults.update(values)
        self.selected_blueprint_id = view.id
        self.selected_own_blueprint_id = ""
        self._own_view = None
        self.selected_blueprint_takes_signature = view.takes_signature
        self.selected_blueprint_name = view.name
        self.selected_blueprint_description = view.description
        self.fields = [
            _form_field(spec, defaults.get(spec.name))
            for spec in blueprints.describe_fields(view.parameter_schema)
        ]
        self._values = dict(defaults)
        self.field_errors = {}
        self.error = ""
        self.form_version += 1
        await self._refresh_preview()

    async def _refresh_preview(self) -> None:
        view: studio.PreviewableBlueprint | None = self._blueprint_views.get(
            self.selected_blueprint_id
        )
        takes_signature = view is not None and view.takes_signature
        if view is None and self._own_view is not None:
            view, takes_signature = self._own_view, self._own_view.takes_signature
        if view is None:
            self.preview_prompt = ""
            return
        styles = []
        if takes_signature:
            for choice in (await self._picker())._choices():
                signature = self._signature_views.get(choice.signature_id)
                if signature is not None:
                    styles.append((signature, choice.weight))
        self.preview_prompt = studio.preview(view, self._values, styles)

    async def _request_focus(self, target: str, mode: str = "scroll") -> None:
        """Ask the page to scroll `target` into view, or (mode "focus") to focus it."""
        live = await self.get_state(GenerationState)
        live.focus_target, live.focus_mode = target, mode
        live.focus_nonce += 1

    @rx.event
    async def choose_blueprint(self, blueprint_id: int):
        # Choosing the chosen blueprint again keeps what the user typed.
        await self._select_blueprint(int(blueprint_id), keep_values=True)
        await self._request_focus(GENERATOR_ID)

    async def _show_values(self, values: dict[str, Any]) -> None:
        """What the form holds now (reported with each draft save): the preview follows."""
        self._values = dict(values)
        await self._refresh_preview()

    async def _select_own_blueprint(
        self,
        user_id: uuid.UUID,
        blueprint_id: str,
        *,
        values: dict[str, Any] | None = None,
        keep_values: bool = False,
    ) -> None:
        """Choose one of the user's own blueprints (newest version); the service checks
        it is theirs. Own blueprints keep no draft (drafts are per catalog blueprint)."""
        view = await run_service(
            user_blueprints.get_blueprint, user_id=user_id, blueprint_id=blueprint_id
        )
        picker = await self._picker()
        if view is None:
            self.selected_own_blueprint_id = ""
            self.fields = []
            self.error = "That blueprint does not exist, or is not yours."
            return
        if keep_values and self.selected_own_blueprint_id == view.id and self.fields:
            return
        picker._set_picks([])
        defaults = blueprints.default_values(view.parameter_schema)
        if values:
            defaults.update(values)
        self.selected_blueprint_id = 0
        self.selected_own_blueprint_id = view.id
        self._own_view = view
        self._values = dict(defaults)
        self.selected_blueprint_takes_signature = view.takes_signature
        self.selected_blueprint_name = view.name
        self.selected_blueprint_description = view.description
        self.fields = [
            _form_field(spec, defaults.get(spec.name))
            for spec in blueprints.describe_fields(view.parameter_schema)
        ]
        self.field_errors = {}
        self.error = ""
        self.form_version += 1
        await self._refresh_preview()

    @rx.event
    async def choose_own_blueprint(self, blueprint_id: str):
        user = await self._require_user()
        if user is None:
            return self._to_sign_in()
        await self._select_own_blueprint(user.user_id, blueprint_id, keep_values=True)
        return None

    @rx.event
    def choose_model(self, model_id: str):
        # A model outside the plan is shown with its upgrade link, but cannot be chosen.
        if model_id in {m.id for m in self.models if m.access != studio.UPGRADE}:
            self.selected_model_id = model_id

    async def _drafts(self):
        from promptgen.state.form_drafts import FormDraftState

        return await self.get_state(FormDraftState)

    @rx.var
    def has_upgrade_models(self) -> bool:
        return any(m.access == studio.UPGRADE for m in self.models)

    @rx.var
    def selected_model_needs_key(self) -> bool:
        return any(
            m.access == studio.NEEDS_KEY for m in self.models if m.id == self.selected_model_id
        )

    @rx.var
    def model_accepts_images(self) -> bool:
        return any(m.supports_images for m in self.models if m.id == self.selected_model_id)

    @rx.event
    async def add_images(self, files: list[rx.UploadFile]):
        """Keep reference images in the database, checked by content, until Generate."""
        user = await self._require_user()
        if user is None:
            return self._to_sign_in()
        received = []
        for upload in files[: MAX_IMAGES + 1]:
            name = getattr(upload, "filename", None) or getattr(upload, "name", "") or "image"
            received.append((str(name), await upload.read()))
        try:
            drafts = await run_service(
                uploads.add_drafts, user_id=user.user_id, kept_ids=self._draft_ids, files=received
            )
        except UserFacingError as exc:
            self.error = exc.message
            self.error_needs_key = False
            return None
        self.error = ""
        self._draft_ids = [d.id for d in drafts]
        self.image_names = [d.label for d in drafts]
        return None

    @rx.event
    async def remove_image(self, index: int):
        user = await self._require_user()
        if user is None or not isinstance(index, int) or not 0 <= index < len(self._draft_ids):
            return
        await run_service(
            uploads.remove_draft, user_id=user.user_id, draft_id=self._draft_ids[index]
        )
        self._draft_ids = self._draft_ids[:index] + self._draft_ids[index + 1 :]
        self.image_names = self.image_names[:index] + self.image_names[index + 1 :]

    async def _live(self) -> GenerationState:
        return await self.get_state(GenerationState)

    @rx.event(background=True)
    async def generate(self, form_data: dict[str, Any]):
        # A background event: a slow provider must not hold this page's state lock, and the
        # output streams into the page as it arrives. What changes while it runs lives in
        # GenerationState (fetched again in each `async with self`); this state is written
        # only when something in it really changes, so the form is not redrawn for nothing.
        # The lock is taken only to read and write the state, never across a database round
        # trip, and in turns (`locked`): under load those wait in a queue, and Reflex takes a
        # lock back after 10 s (LockExpiredError: the tab would never see its result).
        async with locked(self):
            live = await self._live()
            if live._running:
                return
            owner = self._websocket_session_hash()  # the session this tab belongs to now
            if owner != self._session_hash:
                await self._clear_session(owner)  # it changed hands: forget the last user
            if not owner:
                yield self._to_sign_in()
                return
            if not self.selected_blueprint_id and not self.selected_own_blueprint_id:
                self.error = "Pick a blueprint first."
                return
            if not self.selected_model_id:
                self.error = "Pick a model."
                return
            live._running = True  # not sent: the page learns of the run in `show`
            self._clear_feedback()
            draft_ids = list(self._draft_ids) if self.model_accepts_images else []
            parameters = parameters_from_form(self.fields, form_data)
            blueprint_id = self.selected_blueprint_id
            own_id = self.selected_own_blueprint_id
            picker = await self._picker()
            choices = picker._choices() if self.selected_blueprint_takes_signature else ()
            draft_digest = (await self._drafts())._unsaved(parameters, choices)
            # The preview shows exactly what is sent (and stays, with Copy, if the AI fails);
            # the draft's last report usually compiled it already.
            if parameters != self._values:
                self._values = dict(parameters)
                await self._refresh_preview()
            model_id = int(self.selected_model_id)
            tab = self.router.session.client_token
        user = await accounts.find_session_user(owner)
        if user is None:  # signed out elsewhere (another tab, a password change)
            async with locked(self):
                (await self._live())._running = False
                if self._session_hash == owner and self.signed_in:
                    await self._clear_session(owner)
                yield self._to_sign_in()
            return
        if blueprint_id and draft_digest is not None:
            # Kept until it succeeds: the no-key error's link to Settings loses nothing.
            notice = await store_draft(user.user_id, blueprint_id, parameters, choices)
            async with locked(self):
                if self._session_hash == owner:
                    (await self._drafts())._stored(draft_digest, notice)
        task = asyncio.current_task()
        assert task is not None  # an event handler always runs in a task
        realtime.register_run(tab, task)
        shown = False  # whether the page shows this run yet
        ended = False  # the run's last update is being made: no other may follow it

        async def show(text: str) -> None:
            """The page's updates during the run. The first one starts it on the page (the
            spinner, Cancel, the previous result cleared) together with the first text, or
            alone when no text came within the coalescing interval (`timer` below): a
            quick answer, such as the offline compiler's, is one update instead of two."""
            nonlocal shown
            async with locked(self):
                if ended or self._session_hash != owner:  # the tab may have changed hands
                    return
                live = await self._live()
                if shown:
                    if text:  # (the timer's empty start, after the text began: nothing)
                        live.result_output += text
                    return
                shown = True
                live.generating = True
                live.result_output, live.result_notice, live.result_model = text, "", ""
                await self._request_focus(RESULT_ID)  # on phones the result is below the form

        late_start: list[asyncio.Task[None]] = []
        timer = asyncio.get_running_loop().call_later(
            COALESCE_S, lambda: late_start.append(asyncio.ensure_future(show("")))
        )
        # Tokens reach the page in batches (~30 ms), not one websocket message each.
        coalescer = DeltaCoalescer(show)
        result: generation.GenerationResult | None = None

        try:
            images = (
                await run_service(uploads.draft_files, user_id=user.user_id, draft_ids=draft_ids)
                if draft_ids
                else []
            )
            request = generation.GenerationRequest(
                blueprint_id=blueprint_id,
                blueprint_ref=user_blueprints.user_reference(own_id) if own_id else "",
                model_id=model_id,
                signatures=choices,
                parameters=parameters,
                images=tuple(generation.ImageUpload(name, data) for name, data in images),
            )
            try:
                result = await generation.run_generation(
                    user_id=user.user_id, request=request, on_delta=coalescer.add
                )
            finally:
                await asyncio.shield(coalescer.aclose())
        except generation.GenerationError as exc:
            async with locked(self):
                if self._session_hash == owner:
                    live = await self._live()
                    if not shown:  # refused before it started: no earlier result stays
                        live.result_output, live.result_notice, live.result_model = "", "", ""
                    self.error = exc.message
                    self.error_needs_key = exc.needs_own_key
                    self.field_errors = exc.field_errors
                    invalid = [f.name for f in self.fields if f.name in exc.field_errors]
                    if invalid:
                        await self._request_focus("field-" + invalid[0], "focus")
                    else:
                        await self._request_focus("generate-error")
            return
        except asyncio.CancelledError:
            async with locked(self):
                if self._session_hash == owner:
                    live = await self._live()
                    if not shown:  # stopped before it started: no earlier result stays
                        live.result_output, live.result_model = "", ""
                    delivered = bool(live.result_output.strip())
                    live.result_notice = generation.cancelled_message(delivered=delivered)
            return
        except Exception:
            async with locked(self):
                if self._session_hash == owner:
                    self.error = (
                        "Something went wrong while generating. Your inputs are kept; try again."
                    )
            raise
        finally:
            realtime.forget_run(tab, task)
            ended = True
            timer.cancel()
            for update in late_start:  # started before the end: let it finish (a no-op now)
                await asyncio.shield(update)
            # The usage counter in the badge (a failure may have refunded), read before the
            # lock is taken; then one state update ends the run: the result and the badge.
            plan = (
                await run_service(get_plan_summary, user_id=user.user_id)
                if result is None or result.counted_against_quota
                else None
            )
            async with locked(self):
                live = await self._live()
                live._running = False
                if self._session_hash == owner:
                    live.generating = False
                    if result is not None:
                        live.result_output = result.output
                        live.result_notice = result.notice
                        live.result_model = result.model_display_name
                        live.result_prompt_id = str(result.prompt_id)
                    self._show_plan(plan)

    def _clear_feedback(self) -> None:
        """No notice, error or marked field (each written only if set, see generate)."""
        if self.form_notice:
            self.form_notice = ""
        if self.error or self.error_needs_key:
            self.error, self.error_needs_key = "", False
        if self.field_errors:
            self.field_errors = {}

    @rx.event
    async def cancel(self):
        await realtime.request_cancel(self.router.session.client_token)


class GenerationState(DashboardState):
    """What changes while a generation runs (running, the streamed text, the result) and the
    page's focus requests, in a substate of their own. The browser redraws what reads a
    state that changed, so each update of a run (several a second while streaming) redraws
    the buttons and the result panel, not the dashboard's form and pickers. The dashboard's
    `generate` writes it."""

    generating: bool = False  # shown: the spinner and Cancel
    _running: bool = False  # set at once, so a second Generate cannot start a second run
    result_output: str = ""
    result_notice: str = ""
    result_model: str = ""
    result_prompt_id: str = ""
    # A request to the page's client script (assets/studio.js): focus or scroll to the
    # element `focus_target`; a new `focus_nonce` makes the same request again.
    focus_target: str = ""
    focus_mode: str = "scroll"
    focus_nonce: int = 0
