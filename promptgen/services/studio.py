"""What the dashboard reads at page load, in the user's one transaction: the catalog on
offer, the user's favourite signatures, and the draft to reopen (services/page_loads.py)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlmodel import Session, col, select

from promptgen.models import FormDraft
from promptgen.services import catalog, drafts, signatures


@dataclass(frozen=True)
class StudioPage:
    catalog: catalog.StudioCatalog
    favorite_signature_ids: set[int]
    # The blueprint to open and its draft: the one the tab was on, else the newest draft.
    draft_blueprint_id: int
    draft: drafts.Draft | None


def load_studio(
    *, session: Session, user_id: uuid.UUID, preferred_blueprint_id: int = 0
) -> StudioPage:
    offered = catalog.studio_catalog(session=session)
    favorites: set[int] = set()
    if len(offered.signatures) > signatures.SEARCH_THRESHOLD:
        favorites = signatures.favorite_ids(session=session, user_id=user_id)
    # One statement: the preferred blueprint's draft when there is one, else the newest.
    row = session.exec(
        select(FormDraft)
        .where(col(FormDraft.user_id) == user_id)
        .order_by(
            (col(FormDraft.template_id) == preferred_blueprint_id).desc(),
            col(FormDraft.updated_at).desc(),
        )
        .limit(1)
    ).first()
    blueprint_id = preferred_blueprint_id or (row.template_id if row is not None else 0)
    draft = None
    if row is not None and row.template_id == blueprint_id:
        draft = drafts.draft_from_row(row)
    return StudioPage(offered, favorites, blueprint_id, draft)
