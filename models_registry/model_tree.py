"""The model tree: what a model was made from (its base models and datasets) and what was made from it.

A card's `base_model` becomes, at each commit, the tags `base_model:ID` and `base_model:RELATION:ID`
(`cards.derive_tags`, relation declared or inferred as the Hub does) and, for a model, one row per
base in `model_links` (base id, relation, whether the model is public), written with the tags. So
"N models fine-tuned from this" reads one index range: public derivatives are counted from the
index alone (20,000 derivatives of one base cost no join, see bench/model_tree.py); private ones,
few, are joined to their repository and counted only for those who may see them (the listing's
rule). The list of derivatives is `/models?tag=base_model:RELATION:ID`, the Hub's own filter.

Derivatives are matched by the base's id as they wrote it: a card naming `Acme/Base` or an old name
of a renamed base is not counted under `acme/base`, as on the Hub.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from . import cards
from .db import Database
from .errors import RepoNotFound
from .listing import visible
from .permissions import Principal
from .records import RepoView
from .dbutil import insert_ignore
from .tables import ModelLink, Repository

RELATIONS = ("finetune", "adapter", "quantized", "merge")  # the order a base model's page lists them in
MAX_LINKS = 8  # base models and datasets shown (and looked up) per model; a card may list more


def relation_tag(relation: str, base_id: str) -> str:
    """The tag, and the /models filter, of the models derived from `base_id` by `relation`."""
    return f"base_model:{relation}:{base_id}"


def parents_in_tags(tags: list[str]) -> list[tuple[str, str]]:
    """(relation, base model id) read from a repository's `base_model:RELATION:ID` tags."""
    out = []
    for t in tags:
        parts = t.split(":", 2)
        if len(parts) == 3 and parts[0] == "base_model" and parts[1] in RELATIONS and parts[2]:
            out.append((parts[1], parts[2]))
    return out


def is_tree_tag(tag: str) -> bool:
    """A tag the model tree shows better than the tag list does (`base_model:...`)."""
    return tag.startswith("base_model:")


@dataclass(frozen=True)
class BaseModel:
    relation: str
    repo_id: str  # as the card wrote it, or the id here when it exists here
    exists: bool  # a model of this hub that the reader may see: the page links to it


@dataclass(frozen=True)
class ModelTree:
    base_models: list[BaseModel] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    derived: dict[str, int] = field(default_factory=dict)  # relation -> count, only those above zero

    def __bool__(self) -> bool:
        return bool(self.base_models or self.datasets or self.derived)


class ModelTrees:
    """A model's place in the tree, as one reader may see it."""

    def __init__(self, db: Database, repos) -> None:
        self.db = db
        self.repos = repos  # models_registry.repos.Repos: the one lookup (case, renames, visibility)

    def of(self, repo: RepoView, principal: Principal | None) -> ModelTree:
        bases = []
        for relation, base_id in parents_in_tags(repo.tags)[:MAX_LINKS]:
            try:
                here = self.repos.get("model", base_id, principal)
            except RepoNotFound:
                bases.append(BaseModel(relation, base_id, False))
            else:
                bases.append(BaseModel(relation, here.repo_id, True))
        datasets = cards.as_list((repo.card_data or {}).get("datasets"))[:MAX_LINKS]
        return ModelTree(bases, datasets, self.derived_counts(repo.repo_id, principal))

    def derived_counts(self, base_id: str, principal: Principal | None) -> dict[str, int]:
        """How many models `principal` may see were derived from `base_id`, per relation: the public
        ones from the index alone, the private ones (joined to their repository) only for a reader."""
        found: dict[str, int] = {}
        queries = [select(ModelLink.relation, func.count()).where(ModelLink.base_id == base_id,
                                                                  ModelLink.public.is_(True))]
        if principal is not None:
            queries.append(visible(select(ModelLink.relation, func.count())
                                   .join(Repository, Repository.id == ModelLink.repo_id)
                                   .where(ModelLink.base_id == base_id, ModelLink.public.is_(False)), principal))
        with self.db.session() as s:
            for q in queries:
                for relation, n in s.execute(q.group_by(ModelLink.relation)):
                    found[relation] = found.get(relation, 0) + n
        return {r: found[r] for r in RELATIONS if found.get(r)}


def replace_links(s: Session, repo_pk: int, repo_type: str, private: bool, tags: list[str]) -> None:
    """A repository's model_links after its card changed (in the commit's transaction, with its tags)."""
    s.execute(delete(ModelLink).where(ModelLink.repo_id == repo_pk))
    if repo_type == "model":
        rows = {base[:255]: relation for relation, base in parents_in_tags(tags)}
        insert_ignore(s, ModelLink, [{"repo_id": repo_pk, "base_id": b, "relation": r, "public": not private}
                                     for b, r in rows.items()])


def set_public(s: Session, repo_pk: int, private: bool) -> None:
    """The model's links follow it when it becomes private or public."""
    s.execute(update(ModelLink).where(ModelLink.repo_id == repo_pk).values(public=not private))
