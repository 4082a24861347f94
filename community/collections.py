"""Collections: curated, ordered lists of repositories (and of other collections) with a note on
each entry, owned by a user or an organization, as the Hub's collections API has them.

Rules (the API and the pages both call these methods, none re-implements one):
- A collection is addressed by its slug `namespace/title-slug-<hex id>`; only the trailing id finds
  it, so the slug of a renamed collection changes and its old slug still works (as on the Hub).
- Reading: a private collection is visible to its owner, the members of its organization and site
  admins; to anyone else it does not exist (NotFound, never Forbidden).
- Writing: whoever may write to the owner's namespace (the user, an organization's write or admin
  members, site admins), with a token that is not read-only and an account that is not suspended.
- Entries are shown only to those who may see what they name: a private repository (or collection)
  in a public collection is left out for everyone else, and listing positions are not renumbered
  for them, so nothing about it leaks but a gap.
- A title is unique per owner (its slug is): creating it again is a Conflict carrying the existing
  slug, which `create_collection(exists_ok=True)` reads. An entry is unique per collection: adding it
  again is a Conflict too.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from markdown.extensions.toc import slugify_unicode
from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models_registry.db import Database
from models_registry.errors import BadRequest, Conflict, Forbidden, NotFound, RepoNotFound
from models_registry.permissions import Principal, can_read, can_write
from models_registry.records import RepoView
from models_registry.registry import Registry
from models_registry.rendering import render_markdown
from models_registry.tables import Organization, Repository, User, utcnow

from .tables import Collection, CollectionItem

THEMES = ("orange", "blue", "green", "purple", "pink", "indigo")
REPO_ITEM_TYPES = ("model", "dataset", "space")
ITEM_TYPES = (*REPO_ITEM_TYPES, "collection")
# What the Hub also collects but this hub does not host: adding one is "not found", not "bad type".
FOREIGN_ITEM_TYPES = ("paper", "bucket")
MAX_TITLE = 200
MAX_DESCRIPTION = 150  # the Hub's limits, as huggingface_hub documents them
MAX_NOTE = 500
LISTED_ITEMS = 4  # a listing shows the first few entries of each collection, as the Hub's does
SORTS = ("lastModified", "trending", "upvotes")
_HEX_ID = re.compile(r"^[0-9a-f]{24}$")


def new_hex_id() -> str:
    """A 24-hex id, the shape of the Hub's object ids (clients and URLs expect that shape)."""
    return secrets.token_hex(12)


def title_slug(title: str) -> str:
    """The title part of a slug: lower case, words joined by '-' (letters of any script kept)."""
    return slugify_unicode(title, "-")[:MAX_TITLE].strip("-")


def hex_id_of(slug: str) -> str | None:
    """The id that ends a slug (`ns/title-slug-<id>`, or `ns/<id>` for a title with no letters)."""
    tail = slug.rsplit("/", 1)[-1].rsplit("-", 1)[-1].lower()
    return tail if _HEX_ID.match(tail) else None


@dataclass(frozen=True)
class CollectionRef:
    """A collection without its entries: what a nested entry or a listing line needs."""

    id: int
    hex_id: str
    namespace: str
    title: str
    title_slug: str
    description: str | None
    private: bool
    theme: str
    position: int
    created_at: dt.datetime
    last_updated: dt.datetime

    @property
    def slug(self) -> str:
        return f"{self.namespace}/{self.title_slug}-{self.hex_id}" if self.title_slug else \
            f"{self.namespace}/{self.hex_id}"

    @classmethod
    def of(cls, c: Collection) -> CollectionRef:
        return cls(id=c.id, hex_id=c.hex_id, namespace=c.namespace, title=c.title, title_slug=c.title_slug,
                   description=c.description, private=c.private, theme=c.theme, position=c.position,
                   created_at=c.created_at, last_updated=c.last_updated)


@dataclass(frozen=True)
class ItemView:
    """One visible entry: exactly one of `repo` and `collection` is set."""

    hex_id: str
    item_type: str
    position: int
    note: str | None
    note_html: str | None
    repo: RepoView | None = None
    collection: CollectionRef | None = None

    @property
    def item_id(self) -> str:
        """The repository id, or the nested collection's slug: what the client calls `item_id`."""
        if self.repo is not None:
            return self.repo.repo_id
        assert self.collection is not None
        return self.collection.slug


@dataclass(frozen=True)
class Owner:
    name: str
    kind: str  # "user" or "org"
    fullname: str


@dataclass(frozen=True)
class CollectionView(CollectionRef):
    """A collection as one reader sees it: its owner and the entries that reader may see, in order."""

    owner: Owner = field(default=Owner("", "user", ""))
    items: tuple[ItemView, ...] = ()


class Collections:
    """Create, read, change and delete collections and their entries, each with its permission check."""

    def __init__(self, db: Database, registry: Registry) -> None:
        self.db = db
        self.registry = registry

    # ---- reading ------------------------------------------------------------------------------
    def get(self, principal: Principal | None, slug: str) -> CollectionView:
        """The collection `slug` names, with the entries `principal` may see; NotFound if invisible."""
        with self.db.session() as s:
            c = self._visible(s, principal, slug)
            return self._views(s, principal, [c], limit_items=None)[0]

    def list(self, principal: Principal | None, *, owners: Sequence[str] = (), items: Sequence[str] = (),
             sort: str | None = None, offset: int = 0, limit: int = 20,
             text: str | None = None) -> list[CollectionView]:
        """Visible collections, newest change first (a given owner's alone: in that owner's order),
        each with its first LISTED_ITEMS visible entries.

        `items`: "models/ns/name", "datasets/ns/name", "spaces/ns/name" or "collections/<slug>"; a
        collection containing any of them matches. `text`: words the title contains (the site search).
        `trending` and `upvotes` sort as `lastModified`: this hub keeps no upvotes."""
        if sort is not None and sort not in SORTS:
            raise BadRequest(f"Unknown sort {sort!r}: use one of {', '.join(SORTS)}")
        with self.db.session() as s:
            q = select(Collection)
            if owners:
                q = q.where(func.lower(Collection.namespace).in_([o.lower() for o in owners]))
            if items:
                q = q.where(Collection.id.in_(self._containing(s, principal, items)))
            if text:
                for word in text.split()[:8]:
                    escaped = word.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                    q = q.where(func.lower(Collection.title).like(f"%{escaped}%", escape="\\"))
            q = q.where(self._readable(principal))
            if len(owners) == 1 and sort is None:
                q = q.order_by(Collection.position, Collection.id)
            else:
                q = q.order_by(Collection.last_updated.desc(), Collection.id.desc())
            rows = s.scalars(q.offset(offset).limit(limit)).all()
            return self._views(s, principal, rows, limit_items=LISTED_ITEMS)

    def writable(self, principal: Principal | None) -> list[CollectionRef]:
        """The collections `principal` may add to (their own and their organizations' with write),
        for the "add to collection" menu of a model page."""
        if principal is None or not principal.can_write_at_all:
            return []
        namespaces = [principal.name] + [o for o, role in principal.org_roles.items() if role in ("write", "admin")]
        with self.db.session() as s:
            rows = s.scalars(select(Collection).where(Collection.namespace.in_(namespaces))
                             .order_by(Collection.namespace != principal.name, Collection.namespace,
                                       Collection.position, Collection.id)).all()
            return [CollectionRef.of(c) for c in rows]

    # ---- collections ----------------------------------------------------------------------------
    def create(self, principal: Principal | None, namespace: str, title: str, *, description: str | None = None,
               private: bool = False, theme: str | None = None) -> CollectionView:
        """A new, empty collection at the end of the owner's list. Conflict (with `slug`) if the
        owner already has one of that title."""
        title, description = _title(title), _description(description)
        if theme is not None and theme not in THEMES:
            raise BadRequest(f"Unknown theme {theme!r}: use one of {', '.join(THEMES)}")
        kind = self.registry.accounts.namespace_kind(namespace)
        if kind is None:
            raise NotFound(f"No user or organization named {namespace!r}")
        _check_write(principal, namespace)
        assert principal is not None
        slug = title_slug(title)
        with self.db.session(write=True) as s:
            namespace = self._canonical(s, namespace, kind)
            existing = s.scalar(select(Collection).where(Collection.namespace == namespace,
                                                         Collection.title_slug == slug))
            if existing is not None:
                raise Conflict("You already have a collection with this title", slug=CollectionRef.of(existing).slug)
            last = s.scalar(select(func.max(Collection.position)).where(Collection.namespace == namespace))
            now = utcnow()
            c = Collection(hex_id=new_hex_id(), namespace=namespace, title=title, title_slug=slug,
                           description=description, private=bool(private),
                           theme=theme or THEMES[secrets.randbelow(len(THEMES))],
                           position=0 if last is None else last + 1, created_by_id=principal.user_id,
                           created_at=now, last_updated=now)
            try:
                with s.begin_nested():
                    s.add(c)
            except IntegrityError:  # the same title, created a moment ago by another request
                won = s.scalar(select(Collection).where(Collection.namespace == namespace,
                                                        Collection.title_slug == slug))
                raise Conflict("You already have a collection with this title",
                               slug=CollectionRef.of(won).slug if won is not None else None) from None
            return self._views(s, principal, [c], limit_items=None)[0]

    def update(self, principal: Principal | None, slug: str, *, title: str | None = None,
               description: str | None = None, private: bool | None = None, theme: str | None = None,
               position: int | None = None) -> CollectionView:
        """Change what is given; a new title gives a new slug (same id). `position`: the collection's
        new place among its owner's collections (0 first)."""
        if theme is not None and theme not in THEMES:
            raise BadRequest(f"Unknown theme {theme!r}: use one of {', '.join(THEMES)}")
        if position is not None and (not isinstance(position, int) or position < 0):
            raise BadRequest("'position' must be a non-negative integer")
        with self.db.session(write=True) as s:
            c = self._writable(s, principal, slug)
            if title is not None:
                new_title = _title(title)
                new_slug = title_slug(new_title)
                clash = s.scalar(select(Collection.id).where(Collection.namespace == c.namespace,
                                                             Collection.title_slug == new_slug, Collection.id != c.id))
                if clash is not None:
                    raise Conflict("You already have a collection with this title")
                c.title, c.title_slug = new_title, new_slug
            if description is not None:
                c.description = _description(description)
            if private is not None:
                c.private = bool(private)
            if theme is not None:
                c.theme = theme
            if position is not None:
                siblings = s.scalars(select(Collection).where(Collection.namespace == c.namespace)
                                     .order_by(Collection.position, Collection.id).with_for_update()).all()
                _move(siblings, c, position)
            c.last_updated = utcnow()
            s.flush()
            return self._views(s, principal, [c], limit_items=None)[0]

    def delete(self, principal: Principal | None, slug: str) -> None:
        """Delete a collection and its entries (and its place in the collections that list it)."""
        with self.db.session(write=True) as s:
            c = self._writable(s, principal, slug)
            s.delete(c)

    # ---- entries ----------------------------------------------------------------------------------
    def add_item(self, principal: Principal | None, slug: str, item_type: str, item_id: str,
                 note: str | None = None) -> CollectionView:
        """Append a repository or collection that `principal` may see. NotFound if it is not there
        (or invisible), Conflict if the collection has it already."""
        if item_type in FOREIGN_ITEM_TYPES:
            raise NotFound(f"This hub has no {item_type}s: {item_id!r} cannot be added")
        if item_type not in ITEM_TYPES:
            raise BadRequest(f"Unknown item type {item_type!r}: use one of {', '.join(ITEM_TYPES)}")
        if not isinstance(item_id, str) or not item_id:
            raise BadRequest("'item.id' must be a repository id or a collection slug")
        note = _note(note)
        repo: RepoView | None = None
        if item_type in REPO_ITEM_TYPES:
            try:
                repo = self.registry.repos.get(item_type, item_id, principal)
            except RepoNotFound:
                raise NotFound(f"No {item_type} named {item_id!r}") from None
        with self.db.session(write=True) as s:
            c = self._writable(s, principal, slug, lock=True)
            nested: Collection | None = None
            if item_type == "collection":
                nested = self._visible(s, principal, item_id)
                if nested.id == c.id:
                    raise BadRequest("A collection cannot contain itself")
            taken = s.scalar(select(CollectionItem.id).where(
                CollectionItem.collection_id == c.id,
                CollectionItem.repo_id == repo.id if repo is not None
                else CollectionItem.item_collection_id == nested.id))  # type: ignore[union-attr]
            if taken is not None:
                raise Conflict(f"{item_id} is already in this collection")
            last = s.scalar(select(func.max(CollectionItem.position)).where(CollectionItem.collection_id == c.id))
            s.add(CollectionItem(hex_id=new_hex_id(), collection_id=c.id, item_type=item_type,
                                 repo_id=repo.id if repo is not None else None,
                                 item_collection_id=nested.id if nested is not None else None,
                                 position=0 if last is None else last + 1, note=note or None))
            c.last_updated = utcnow()
            try:
                s.flush()
            except IntegrityError:  # added a moment ago by another request
                raise Conflict(f"{item_id} is already in this collection") from None
            return self._views(s, principal, [c], limit_items=None)[0]

    def update_item(self, principal: Principal | None, slug: str, item_hex_id: str, *, note: str | None = None,
                    position: int | None = None) -> None:
        """A new note ("" removes it) and/or a new place (0 first) for one entry."""
        if position is not None and (not isinstance(position, int) or isinstance(position, bool) or position < 0):
            raise BadRequest("'position' must be a non-negative integer")
        note = _note(note)
        with self.db.session(write=True) as s:
            c = self._writable(s, principal, slug, lock=True)
            item = self._item(s, c, item_hex_id)
            if note is not None:
                item.note = note or None
            if position is not None:
                entries = s.scalars(select(CollectionItem).where(CollectionItem.collection_id == c.id)
                                    .order_by(CollectionItem.position, CollectionItem.id)).all()
                _move(entries, item, position)
            c.last_updated = utcnow()

    def delete_item(self, principal: Principal | None, slug: str, item_hex_id: str) -> None:
        """Remove one entry (NotFound if the collection has no such entry)."""
        with self.db.session(write=True) as s:
            c = self._writable(s, principal, slug, lock=True)
            s.delete(self._item(s, c, item_hex_id))
            c.last_updated = utcnow()

    # ---- helpers -----------------------------------------------------------------------------------
    @staticmethod
    def _readable(principal: Principal | None):
        """SQL condition: the collections `principal` may see."""
        if principal is not None and principal.is_admin:
            return Collection.id.is_not(None)
        seen = [principal.name, *principal.org_roles] if principal is not None else []
        return or_(Collection.private.is_(False), Collection.namespace.in_(seen)) if seen else \
            Collection.private.is_(False)

    def _visible(self, s: Session, principal: Principal | None, slug: str) -> Collection:
        hex_id = hex_id_of(slug) if "/" in slug else None
        c = s.scalar(select(Collection).where(Collection.hex_id == hex_id)) if hex_id else None
        # The namespace of the slug must be the owner's: another owner's name with a right id is no alias.
        if c is None or c.namespace.lower() != slug.split("/", 1)[0].lower() \
                or not can_read(principal, c.namespace, c.private):
            raise NotFound("Collection not found")
        return c

    def _writable(self, s: Session, principal: Principal | None, slug: str, lock: bool = False) -> Collection:
        c = self._visible(s, principal, slug)
        _check_write(principal, c.namespace)
        if lock:  # entries are numbered from the collection's row: one writer of a collection at a time
            s.execute(select(Collection.id).where(Collection.id == c.id).with_for_update())
        return c

    @staticmethod
    def _item(s: Session, c: Collection, item_hex_id: str) -> CollectionItem:
        item = s.scalar(select(CollectionItem).where(CollectionItem.collection_id == c.id,
                                                     CollectionItem.hex_id == item_hex_id.lower()))
        if item is None:
            raise NotFound("Item not found in this collection")
        return item

    @staticmethod
    def _canonical(s: Session, namespace: str, kind: str) -> str:
        table = User if kind == "user" else Organization
        return s.scalar(select(table.name).where(table.name == namespace)) or namespace

    def _containing(self, s: Session, principal: Principal | None, items: Iterable[str]) -> list[int]:
        conditions = []
        for spec in items:
            kind, _, ident = spec.partition("/")
            if kind in ("models", "datasets", "spaces") and ident.count("/") == 1:
                ns, name = ident.split("/")
                conditions.append(and_(CollectionItem.repo_id == Repository.id, Repository.repo_type == kind[:-1],
                                       func.lower(Repository.namespace) == ns.lower(),
                                       func.lower(Repository.name) == name.lower()))
            elif kind == "collections" and hex_id_of(ident):
                nested = s.scalar(select(Collection.id).where(Collection.hex_id == hex_id_of(ident)))
                if nested is not None:
                    conditions.append(CollectionItem.item_collection_id == nested)
            # anything else (papers, unknown kinds) is in no collection here
        if not conditions:
            return []
        q = (select(CollectionItem.collection_id).outerjoin(Repository, CollectionItem.repo_id == Repository.id)
             .where(or_(*conditions)))
        return list(s.scalars(q))

    def _views(self, s: Session, principal: Principal | None, rows: Sequence[Collection],
               limit_items: int | None) -> list[CollectionView]:
        """Views of `rows` with their visible entries, in a few queries whatever the number of rows."""
        if not rows:
            return []
        ids = [c.id for c in rows]
        entries = s.scalars(select(CollectionItem).where(CollectionItem.collection_id.in_(ids))
                            .order_by(CollectionItem.collection_id, CollectionItem.position, CollectionItem.id)).all()
        repos = {r.id: RepoView.of(r) for r in s.scalars(select(Repository).where(
            Repository.id.in_({e.repo_id for e in entries if e.repo_id is not None})))} if entries else {}
        nested = {c.id: CollectionRef.of(c) for c in s.scalars(select(Collection).where(
            Collection.id.in_({e.item_collection_id for e in entries if e.item_collection_id is not None})))} \
            if entries else {}
        shown: dict[int, list[ItemView]] = {i: [] for i in ids}
        for e in entries:
            out = shown[e.collection_id]
            if limit_items is not None and len(out) >= limit_items:
                continue
            repo = repos.get(e.repo_id) if e.repo_id is not None else None
            ref = nested.get(e.item_collection_id) if e.item_collection_id is not None else None
            if repo is not None and not can_read(principal, repo.namespace, repo.private):
                continue
            if ref is not None and not can_read(principal, ref.namespace, ref.private):
                continue
            if repo is None and ref is None:
                continue
            out.append(ItemView(hex_id=e.hex_id, item_type=e.item_type, position=e.position, note=e.note,
                                note_html=render_markdown(e.note) if e.note else None, repo=repo, collection=ref))
        owners = self._owners(s, {c.namespace for c in rows})
        return [CollectionView(**vars(CollectionRef.of(c)), owner=owners[c.namespace], items=tuple(shown[c.id]))
                for c in rows]

    @staticmethod
    def _owners(s: Session, namespaces: set[str]) -> dict[str, Owner]:
        found = {n: Owner(n, "user", f or n) for n, f in s.execute(
            select(User.name, User.fullname).where(User.name.in_(namespaces)))}
        found.update({n: Owner(n, "org", f or n) for n, f in s.execute(
            select(Organization.name, Organization.fullname).where(Organization.name.in_(namespaces)))})
        return {n: found.get(n, Owner(n, "user", n)) for n in namespaces}


def _check_write(principal: Principal | None, namespace: str) -> None:
    if principal is None:
        raise Forbidden("You must be signed in to change a collection")
    if principal.suspended:
        raise Forbidden("Your account is suspended: you can read but not change anything")
    if not can_write(principal, namespace):
        raise Forbidden(f"You don't have write access to the collections of {namespace}"
                        + (" (this token is read-only)" if principal.token_role == "read" else ""))


def _move(rows: Sequence, target, position: int) -> None:
    """Put `target` at index `position` (clamped) of `rows` and number them all 0, 1, 2... again."""
    order = [r for r in rows if r is not target]
    order.insert(min(position, len(order)), target)
    for i, r in enumerate(order):
        if r.position != i:
            r.position = i


def _title(title: object) -> str:
    if not isinstance(title, str) or not title.strip():
        raise BadRequest("A collection needs a title")
    title = title.strip()
    if len(title) > MAX_TITLE:
        raise BadRequest(f"The title is longer than {MAX_TITLE} characters")
    return title


def _description(description: object) -> str | None:
    if description is None:
        return None
    if not isinstance(description, str):
        raise BadRequest("'description' must be text")
    if len(description) > MAX_DESCRIPTION:
        raise BadRequest(f"The description is longer than {MAX_DESCRIPTION} characters")
    return description.strip() or None


def _note(note: object) -> str | None:
    if note is None:
        return None
    if not isinstance(note, str):
        raise BadRequest("'note' must be text")
    if len(note) > MAX_NOTE:
        raise BadRequest(f"The note is longer than {MAX_NOTE} characters")
    return note.strip()
