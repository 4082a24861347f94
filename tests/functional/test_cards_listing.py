"""list_models over card-derived facets: filters (all tags must match), sorts, expand/cardData/full,
visibility and pagination (the test server's page size is 7)."""

from __future__ import annotations


import pytest
from huggingface_hub import CommitOperationAdd

from tests.support.waiting import eventually

AUTHOR = "lst-author"

# name -> card front matter; created in this order (createdAt ascending)
CARDS = {
    "alpha-bert": "license: mit\nlanguage: [en]\nlibrary_name: transformers\npipeline_tag: fill-mask\ntags: [nlp]",
    "beta-bert": "license: apache-2.0\nlanguage: [en, fr]\nlibrary_name: transformers\npipeline_tag: fill-mask\n"
                 "tags: [nlp, legal]",
    "gamma-vit": "license: mit\nlibrary_name: timm\npipeline_tag: image-classification\ntags: [vision]",
    "delta-gpt": "license: mit\nlanguage: [en, zh]\nlibrary_name: transformers\npipeline_tag: text-generation\n"
                 "tags: [nlp, legal]\nregion: [EU]\nindustry: legal",
    "epsilon-asr": "license: cc-by-4.0\nlanguage: [zh]\nlibrary_name: nemo\npipeline_tag: automatic-speech-recognition",
    "zeta-none": None,
    "eta-gguf": "license: llama3\nlanguage: [en]\nlibrary_name: gguf\npipeline_tag: text-generation\ntags: [nlp]",
    "theta-bert": "license: mit\nlanguage: [fr]\nlibrary_name: transformers\npipeline_tag: fill-mask\ntags: [nlp]",
    "iota-tab": "license: mit\nlibrary_name: sklearn\npipeline_tag: tabular-classification",
}
DOWNLOADS = {"beta-bert": 5, "delta-gpt": 3, "theta-bert": 1, "eta-gguf": 2}
LIKES = {"gamma-vit": 3, "alpha-bert": 2, "epsilon-asr": 1}
LIKERS = ["lst-liker1", "lst-liker2", "lst-liker3"]


def make_users(hub, *specs):
    """Tokens for several users; one subprocess when the fixture offers `users()`."""
    if hasattr(hub, "users"):
        return hub.users(*specs)
    return [hub.user(s) if isinstance(s, str) else hub.user(s[0], role=s[1]) for s in specs]


@pytest.fixture(scope="module")
def catalog(hub):
    token, *likers = make_users(hub, AUTHOR, *LIKERS)
    api = hub.api(token)
    for name, fm in CARDS.items():
        repo_id = f"{AUTHOR}/{name}"
        api.create_repo(repo_id)
        ops = [CommitOperationAdd("config.json", b'{"model_type": "x"}')]
        if fm is not None:
            ops.append(CommitOperationAdd("README.md", f"---\n{fm}\n---\n# {name}\n".encode()))
        api.create_commit(repo_id, operations=ops, commit_message=f"add {name}")
    api.update_repo_settings(f"{AUTHOR}/delta-gpt", gated="manual")
    api.update_repo_settings(f"{AUTHOR}/eta-gguf", gated="auto")
    api.create_repo(f"{AUTHOR}/kappa-private", private=True)
    api.upload_file(path_or_fileobj=b"---\nlicense: mit\ntags: [nlp]\n---\n", path_in_repo="README.md",
                    repo_id=f"{AUTHOR}/kappa-private")
    for name, n in DOWNLOADS.items():
        for _ in range(n):
            r = hub.get(f"/{AUTHOR}/{name}/resolve/main/config.json", token=token)
            assert r.status_code == 200, r.text
    for name, n in LIKES.items():
        for t in likers[:n]:
            r = hub.request("POST", f"/api/models/{AUTHOR}/{name}/like", t)
            assert r.status_code == 200, r.text
    # The last commit goes to theta-bert: it is the most recently modified.
    api.upload_file(path_or_fileobj=b"notes", path_in_repo="NOTES.txt", repo_id=f"{AUTHOR}/theta-bert")
    return api, token, hub.api(likers[0])


def ids(models) -> list[str]:
    return [m.id.split("/", 1)[1] for m in models]


def test_author_lists_everything_across_pages(hub, catalog):
    owner, _, other = catalog
    public = sorted(CARDS)
    assert sorted(ids(other.list_models(author=AUTHOR))) == public
    assert sorted(ids(hub.api(None).list_models(author=AUTHOR))) == public
    # the owner also sees the private one
    assert sorted(ids(owner.list_models(author=AUTHOR))) == sorted(public + ["kappa-private"])


def test_raw_pagination(hub, catalog):
    r = hub.get("/api/models", params={"author": AUTHOR})
    assert r.status_code == 200
    first = r.json()
    assert len(first) == 7
    assert r.links["next"]["url"].startswith(hub.url + "/api/models?")
    r2 = hub.get(r.links["next"]["url"][len(hub.url):])
    second = r2.json()
    assert len(second) == 2 and "next" not in r2.links
    assert sorted(x["id"] for x in first + second) == sorted(f"{AUTHOR}/{n}" for n in CARDS)


def test_limit(catalog):
    _, _, api = catalog
    assert len(list(api.list_models(author=AUTHOR, limit=3))) == 3
    assert len(list(api.list_models(author=AUTHOR, limit=8))) == 8
    assert len(list(api.list_models(author=AUTHOR, limit=100))) == 9


def test_filter_tags_must_all_match(catalog):
    _, _, api = catalog
    assert sorted(ids(api.list_models(author=AUTHOR, filter="nlp"))) == [
        "alpha-bert", "beta-bert", "delta-gpt", "eta-gguf", "theta-bert"]
    assert sorted(ids(api.list_models(author=AUTHOR, filter=["nlp", "legal"]))) == ["beta-bert", "delta-gpt"]
    assert sorted(ids(api.list_models(author=AUTHOR, filter=["nlp", "legal", "zh"]))) == ["delta-gpt"]
    assert ids(api.list_models(author=AUTHOR, filter=["nlp", "vision"])) == []
    assert sorted(ids(api.list_models(author=AUTHOR, filter="region:eu"))) == ["delta-gpt"]
    assert sorted(ids(api.list_models(author=AUTHOR, filter="industry:legal"))) == ["delta-gpt"]


def test_filter_license_language_library(hub, catalog):
    _, _, api = catalog
    assert sorted(ids(api.list_models(author=AUTHOR, filter="license:mit"))) == [
        "alpha-bert", "delta-gpt", "gamma-vit", "iota-tab", "theta-bert"]
    assert sorted(ids(api.list_models(author=AUTHOR, filter=["license:mit", "en"]))) == ["alpha-bert", "delta-gpt"]
    assert sorted(ids(api.list_models(author=AUTHOR, filter="fr"))) == ["beta-bert", "theta-bert"]
    assert sorted(ids(api.list_models(author=AUTHOR, filter="transformers"))) == [
        "alpha-bert", "beta-bert", "delta-gpt", "theta-bert"]
    # the Hub's query parameters for the same facets
    for params, expected in (
        ({"library": "transformers", "language": "fr"}, ["beta-bert", "theta-bert"]),
        ({"license": "MIT", "language": "en"}, ["alpha-bert", "delta-gpt"]),
        ({"language": "zh"}, ["delta-gpt", "epsilon-asr"]),
    ):
        r = hub.get("/api/models", params={"author": AUTHOR, **params})
        assert r.status_code == 200
        assert sorted(x["id"].split("/")[1] for x in r.json()) == expected, params


def test_pipeline_tag(catalog):
    _, _, api = catalog
    assert sorted(ids(api.list_models(author=AUTHOR, pipeline_tag="fill-mask"))) == [
        "alpha-bert", "beta-bert", "theta-bert"]
    assert sorted(ids(api.list_models(author=AUTHOR, pipeline_tag="text-generation", filter="legal"))) == [
        "delta-gpt"]
    assert ids(api.list_models(author=AUTHOR, pipeline_tag="translation")) == []


def test_gated(catalog):
    _, _, api = catalog
    assert sorted(ids(api.list_models(author=AUTHOR, gated=True))) == ["delta-gpt", "eta-gguf"]
    assert sorted(ids(api.list_models(author=AUTHOR, gated=False))) == sorted(
        set(CARDS) - {"delta-gpt", "eta-gguf"})
    gated = {m.id.split("/")[1]: m.gated for m in api.list_models(author=AUTHOR, gated=True)}
    assert gated == {"delta-gpt": "manual", "eta-gguf": "auto"}


def search_ids(api, **kwargs) -> list[str]:
    return sorted(ids(api.list_models(author=AUTHOR, **kwargs)))


def test_search(catalog):
    _, _, api = catalog
    bert = ["alpha-bert", "beta-bert", "theta-bert"]
    by_downloads = ["beta-bert", "theta-bert", "alpha-bert"]
    assert eventually(lambda: ids(api.list_models(author=AUTHOR, search="bert", sort="downloads")),
                      by_downloads, timeout=15.0) == by_downloads
    assert search_ids(api, search="bert") == bert
    assert search_ids(api, search="BERT") == bert
    assert search_ids(api, search="bert", filter="fr") == ["beta-bert", "theta-bert"]
    assert search_ids(api, search="bert", filter=["license:mit", "nlp"]) == ["alpha-bert", "theta-bert"]
    assert search_ids(api, search="gpt", pipeline_tag="text-generation") == ["delta-gpt"]
    assert search_ids(api, search="gpt", pipeline_tag="fill-mask") == []
    assert ids(api.list_models(search="lst-author", filter="vision")) == ["gamma-vit"]


def test_search_respects_gated(catalog):
    _, _, api = catalog
    assert eventually(lambda: search_ids(api, search="delta"), ["delta-gpt"], timeout=15.0) == ["delta-gpt"]
    assert search_ids(api, search="delta", gated=True) == ["delta-gpt"]
    assert search_ids(api, search="delta", gated=False) == []
    assert search_ids(api, search="bert", gated=True) == []
    assert search_ids(api, search="bert", gated=False) == ["alpha-bert", "beta-bert", "theta-bert"]


def test_search_hides_private_repos_from_others(hub, catalog):
    owner, _, other = catalog
    assert eventually(lambda: search_ids(owner, search="kappa"), ["kappa-private"], timeout=15.0) == ["kappa-private"]
    assert search_ids(other, search="kappa") == []
    assert search_ids(hub.api(None), search="kappa") == []


def test_sort_by_downloads_and_likes(catalog):
    _, _, api = catalog
    by_downloads = list(api.list_models(author=AUTHOR, sort="downloads"))
    assert ids(by_downloads)[:4] == ["beta-bert", "delta-gpt", "eta-gguf", "theta-bert"]
    assert [m.downloads for m in by_downloads] == sorted((m.downloads for m in by_downloads), reverse=True)
    assert [m.downloads for m in by_downloads][:5] == [5, 3, 2, 1, 0]

    by_likes = list(api.list_models(author=AUTHOR, sort="likes"))
    assert ids(by_likes)[:3] == ["gamma-vit", "alpha-bert", "epsilon-asr"]
    assert [m.likes for m in by_likes][:4] == [3, 2, 1, 0]


def test_sort_by_trending_score(catalog):
    _, _, api = catalog
    models = list(api.list_models(author=AUTHOR, sort="trending_score", expand=["trendingScore", "likes",
                                                                                "downloads"]))
    scores = [m.trending_score for m in models]
    assert scores == sorted(scores, reverse=True)
    # recent downloads plus weighted recent likes
    top = {m.id.split("/")[1]: m.trending_score for m in models}
    assert top["gamma-vit"] > top["alpha-bert"] > top["epsilon-asr"] > 0  # 3, 2, 1 likes
    assert top["beta-bert"] > top["delta-gpt"] > top["eta-gguf"] > top["theta-bert"] > 0  # 5, 3, 2, 1 downloads
    assert top["zeta-none"] == top["iota-tab"] == 0


def test_sort_by_dates(catalog):
    _, _, api = catalog
    created = ids(api.list_models(author=AUTHOR, sort="created_at"))
    assert created == list(reversed(CARDS))
    modified = list(api.list_models(author=AUTHOR, sort="last_modified"))
    assert ids(modified)[0] == "theta-bert"
    stamps = [m.last_modified for m in modified]
    assert stamps == sorted(stamps, reverse=True)


def test_unknown_sort_is_a_bad_request(hub, catalog):
    r = hub.get("/api/models", params={"author": AUTHOR, "sort": "name; DROP TABLE"})
    assert r.status_code == 400


def test_card_data_only_when_asked(catalog):
    _, _, api = catalog
    plain = {m.id.split("/")[1]: m for m in api.list_models(author=AUTHOR)}
    assert all(m.card_data is None for m in plain.values())
    assert plain["beta-bert"].tags == ["transformers", "nlp", "legal", "fill-mask", "en", "fr", "license:apache-2.0"]
    assert plain["beta-bert"].pipeline_tag == "fill-mask"
    assert plain["beta-bert"].siblings is None

    with_card = {m.id.split("/")[1]: m for m in api.list_models(author=AUTHOR, cardData=True)}
    assert with_card["beta-bert"].card_data.license == "apache-2.0"
    assert with_card["delta-gpt"].card_data.to_dict()["industry"] == "legal"
    assert with_card["zeta-none"].card_data is None


def test_expand_only_what_is_asked(catalog):
    _, _, api = catalog
    models = {m.id.split("/")[1]: m for m in api.list_models(author=AUTHOR, expand=["likes", "downloads"])}
    beta = models["beta-bert"]
    assert beta.downloads == 5 and beta.likes == 0
    assert models["gamma-vit"].likes == 3
    assert beta.tags is None and beta.card_data is None and beta.pipeline_tag is None and beta.private is None
    assert beta.last_modified is None


def test_full_includes_siblings(catalog):
    _, _, api = catalog
    models = {m.id.split("/")[1]: m for m in api.list_models(author=AUTHOR, full=True)}
    assert sorted(s.rfilename for s in models["theta-bert"].siblings) == [
        ".gitattributes", "NOTES.txt", "README.md", "config.json"]
    assert sorted(s.rfilename for s in models["zeta-none"].siblings) == [".gitattributes", "config.json"]
    assert models["beta-bert"].card_data.license == "apache-2.0"
    assert models["beta-bert"].last_modified is not None
