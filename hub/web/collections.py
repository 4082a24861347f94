"""Collection pages: a collection, "add to collection" on a model page, and the template helpers that
put a Collections section on user and organization pages. The rules are community/collections.py's."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from community.collections import MAX_NOTE, MAX_TITLE, CollectionRef, CollectionView
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
    return render_template("collections/page.html", c=view, can_edit=can_write(auth.current(), view.namespace))


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
