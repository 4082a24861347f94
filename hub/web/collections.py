"""Collection pages: a collection (with its owner's edits: title, description, visibility, theme,
each entry's note and place), "add to collection" on a model page, and the template helpers that put
a Collections section on user and organization pages. The rules are community/collections.py's."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from community.collections import MAX_DESCRIPTION, MAX_NOTE, MAX_TITLE, THEMES, CollectionRef, CollectionView
from models_registry.errors import BadRequest, Conflict, Forbidden, NotFound
from models_registry.permissions import can_write

from .. import auth
from ..localize import localize_error
from ..wiring import services
from .accounts import login_required
from .forms import Form
from .pages import load_repo

bp = Blueprint("web_collections", __name__)
PROFILE_COLLECTIONS = 12  # on a user or organization page


class AddToCollectionForm(Form):
    collection = SelectField(_l("Collection"), validators=[Optional()], validate_choice=False)
    new_title = StringField(_l("Or a new collection"), validators=[Optional(), Length(max=MAX_TITLE)])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=MAX_NOTE)])


class EditCollectionForm(Form):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=MAX_TITLE)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=MAX_DESCRIPTION)])
    private = BooleanField(_l("Private: only you (or the organization's members) can see it"))
    theme = SelectField(_l("Colour"), choices=[(t, t) for t in THEMES])


class ItemNoteForm(Form):
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=MAX_NOTE)])


# The colour names of the themes, for the edit form (the API speaks the English names).
THEME_LABELS = {"orange": _l("Orange"), "blue": _l("Blue"), "green": _l("Green"), "purple": _l("Purple"),
                "pink": _l("Pink"), "indigo": _l("Indigo")}


def _owner_post(ns: str, slug: str, form_class: type[Form]) -> tuple[CollectionView, Form | None]:
    """The collection a signed-in owner's form posts to, and the form if it is valid (else its
    errors are flashed, each with its field's label, and the form is None)."""
    login_required()
    view = _load(ns, slug)
    form = form_class()
    if form.validate():
        return view, form
    for field, errors in form.errors.items():
        label = getattr(form, field).label.text if hasattr(form, field) else field
        for e in errors:
            flash(f"{label}: {e}", "error")
    return view, None


def _load(ns: str, slug: str) -> CollectionView:
    """The collection for a page, or the 404 page (a private one included: no existence leak)."""
    try:
        return services().community.collections.get(auth.current(), f"{ns}/{slug}")
    except NotFound:
        abort(404)


@bp.get("/collections/<ns>/<slug>")
def show(ns: str, slug: str):
    view = _load(ns, slug)
    if view.slug != f"{ns}/{slug}":  # renamed since: its old address leads to the new one
        return redirect(f"/collections/{view.slug}", 302)
    can_edit = can_write(auth.current(), view.namespace)
    edit = EditCollectionForm(data={"title": view.title, "description": view.description or "",
                                    "private": view.private, "theme": view.theme}) if can_edit else None
    if edit is not None:
        edit.theme.choices = [(t, str(THEME_LABELS[t])) for t in THEMES]
    return render_template("collections/page.html", c=view, can_edit=can_edit, edit=edit)


@bp.post("/collections/<ns>/<slug>/edit")
def edit(ns: str, slug: str):
    view, form = _owner_post(ns, slug, EditCollectionForm)
    if form is None:
        return redirect(f"/collections/{view.slug}")
    try:
        view = services().community.collections.update(
            auth.current(), view.slug, title=form.title.data, description=form.description.data or "",
            private=bool(form.private.data), theme=form.theme.data)
    except Forbidden:
        abort(403)
    except Conflict:
        flash(_("You already have a collection with this title."), "error")
    except BadRequest as e:
        flash(localize_error(e), "error")
    else:
        flash(_("Saved."))
    return redirect(f"/collections/{view.slug}")


@bp.post("/collections/<ns>/<slug>/items/<item>/note")
def edit_note(ns: str, slug: str, item: str):
    view, form = _owner_post(ns, slug, ItemNoteForm)
    if form is None:
        return redirect(f"/collections/{view.slug}")
    _change_item(view, item, note=(form.note.data or "").strip())
    return redirect(f"/collections/{view.slug}#item-{item}")


@bp.post("/collections/<ns>/<slug>/items/<item>/move")
def move_item(ns: str, slug: str, item: str):
    """One place up or down (the API moves to any place; the page needs only neighbours)."""
    login_required()
    view = _load(ns, slug)
    order = [i.hex_id for i in view.items]
    step = {"up": -1, "down": 1}.get(request.form.get("to", ""))
    if step is None or item not in order:
        abort(400)
    # The neighbour's stored place, not its index on the page: entries the reader cannot see
    # (someone else's private repository) keep theirs.
    neighbour = order.index(item) + step
    if 0 <= neighbour < len(order):
        _change_item(view, item, position=view.items[neighbour].position)
    return redirect(f"/collections/{view.slug}#item-{item}")


def _change_item(view: CollectionView, item: str, *, note: str | None = None, position: int | None = None) -> None:
    try:
        services().community.collections.update_item(auth.current(), view.slug, item, note=note, position=position)
    except Forbidden:
        abort(403)
    except NotFound:  # removed meanwhile (another tab): the page shows what is left
        flash(_("This entry is no longer in the collection."), "error")
    except BadRequest as e:
        flash(localize_error(e), "error")
    else:
        flash(_("Saved."))


@bp.post("/<ns>/<name>/add-to-collection")
def add_model(ns: str, name: str):
    login_required()
    me = auth.current()
    repo = load_repo(ns, name)
    form = AddToCollectionForm()
    back = f"/{repo.repo_id}"
    if not form.validate():
        for errors in form.errors.values():
            for e in errors:
                flash(str(e), "error")
        return redirect(back)
    collections = services().community.collections
    new_title = (form.new_title.data or "").strip()
    try:
        if new_title:
            slug = collections.create(me, me.name, new_title).slug
        elif form.collection.data:
            slug = form.collection.data
        else:
            flash(_("Choose a collection, or give a new one a title."), "error")
            return redirect(back)
    except Conflict:
        flash(_("You already have a collection with this title."), "error")
        return redirect(back)
    except BadRequest as e:
        flash(localize_error(e), "error")
        return redirect(back)
    try:
        collections.add_item(me, slug, repo.repo_type, repo.repo_id, note=form.note.data or None)
    except Conflict:
        flash(_("This model is already in that collection."), "error")
        return redirect(f"/collections/{slug}")
    except (NotFound, Forbidden):  # a forged or stale choice: not one of the reader's collections
        flash(_("You cannot add to that collection."), "error")
        return redirect(back)
    flash(_("Added %(model)s to the collection.", model=repo.repo_id))
    return redirect(f"/collections/{slug}")


@bp.post("/collections/<ns>/<slug>/items/<item>/remove")
def remove_item(ns: str, slug: str, item: str):
    login_required()
    view = _load(ns, slug)
    try:
        services().community.collections.delete_item(auth.current(), view.slug, item)
    except Forbidden:
        abort(403)
    except NotFound:  # removed already (another tab): the page shows what is left
        pass
    else:
        flash(_("Removed from the collection."))
    return redirect(f"/collections/{view.slug}")


@bp.post("/collections/<ns>/<slug>/delete")
def delete(ns: str, slug: str):
    login_required()
    view = _load(ns, slug)
    try:
        services().community.collections.delete(auth.current(), view.slug)
    except Forbidden:
        abort(403)
    flash(_("The collection %(title)s was deleted.", title=view.title))
    return redirect(f"/{view.namespace}")


def collections_of(namespace: str) -> list[CollectionView]:
    """The collections of a user or organization that the reader may see (their first entries)."""
    return services().community.collections.list(auth.current(), owners=[namespace], limit=PROFILE_COLLECTIONS)


def my_collections() -> list[CollectionRef]:
    """The collections the signed-in reader may add to, for a model page's "add to collection" form."""
    return services().community.collections.writable(auth.current())


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(collections_of=collections_of, my_collections=my_collections)
    app.register_blueprint(bp)
