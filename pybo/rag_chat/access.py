"""Who may see, use and manage which documents: the one place for these rules.

- A private document belongs to its owner alone: only they list, open, cite or retrieve
  it. Admins included: they see metadata (size, pages, chunks, owner) for moderation
  and may delete it, which is audited; they never open or retrieve it.
- A shared-library document (공개 자료) is listed, opened and retrieved by every
  logged-in user; only admins add, share, unshare, re-index or remove one.
- Board posts are public; their index is the `board` space.

Retrieval is structural: each space is its own collection and lexical index, and a
search only ever names the spaces these rules allow (`scopes_for`).
"""

from sqlalchemy import or_, select

from pybo.extensions import db
from pybo.knowledge.hybrid import Scope, Target
from pybo.rag_chat.models import READY, Document

SHARED = "shared"
BOARD = "board"


def private_space(user_id):
    return f"u{int(user_id)}"


def space_of(document):
    return SHARED if document.shared else private_space(document.user_id)


def target_of(document):
    """Where a document's chunks live, and what its citations show."""
    return Target(space_of(document), str(document.id), document.filename, document_id=document.id)


def _authenticated(user):
    return bool(getattr(user, "is_authenticated", False))


def can_read(user, document):
    """List, open, cite, retrieve."""
    return _authenticated(user) and (document.shared or document.user_id == user.id)


def can_manage(user, document):
    """Re-index (and, for admins, share or unshare their own)."""
    if not _authenticated(user):
        return False
    return user.is_admin if document.shared else document.user_id == user.id


def can_delete(user, document):
    """Owners delete their own; admins may delete any document (audited when not theirs)."""
    return can_manage(user, document) or (_authenticated(user) and user.is_admin)


def can_share(user, document):
    """Admins move their own ready documents into the shared library and back."""
    return (
        _authenticated(user)
        and user.is_admin
        and document.user_id == user.id
        and document.status == READY
    )


def readable_query(user):
    """`select(Document)` of what `user` may list: their own and the shared library."""
    return select(Document).where(or_(Document.shared, Document.user_id == user.id))


def readable_ready_ids(user, ids):
    """The subset of `ids` that `user` may retrieve from and that are ready."""
    if not ids:
        return []
    query = readable_query(user).where(Document.id.in_(ids), Document.status == READY)
    return [document.id for document in db.session.scalars(query)]


def scopes_for(user, conversation):
    """The `Scope`s a conversation of `user` searches, from its settings, re-checked
    against the rules at every question (a document unshared since is dropped)."""
    scopes = []
    chosen = readable_ready_ids(user, [d.id for d in conversation.documents])
    if chosen:
        documents = db.session.scalars(select(Document).where(Document.id.in_(chosen)))
        by_space = {}
        for document in documents:
            by_space.setdefault(space_of(document), {})[str(document.id)] = document.chunks_total
        scopes += [Scope(space, counts) for space, counts in sorted(by_space.items())]
    else:
        if conversation.use_private:
            scopes.append(Scope(private_space(user.id)))
        if conversation.use_shared:
            scopes.append(Scope(SHARED))
    if conversation.use_board:
        scopes.append(Scope(BOARD))
    return scopes
