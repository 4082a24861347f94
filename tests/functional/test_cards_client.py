"""Model cards through the real HF client: ModelCard/metadata_update, and what model_info derives from a card.

`ModelCard.load`, `ModelCard.push_to_hub` and `metadata_update` take no endpoint: they read
`HF_ENDPOINT` at import time, so they run in a subprocess configured for the live server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from huggingface_hub import hf_hub_download

CARD = """---
license: apache-2.0
language:
- en
- zh
library_name: transformers
pipeline_tag: text-classification
tags:
- sentiment
- finance
datasets:
- acme/reviews
base_model: acme/base-7b
region:
- EU
- cn
industry: Finance
---

# Sentiment model

Classifies reviews.
"""


def run_client(hub, tmp_path, token: str, code: str) -> dict:
    """Run `code` (which prints one JSON line) with the HF client pointed at the live hub."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update({"HF_ENDPOINT": hub.url, "HF_TOKEN": token, "HF_HUB_DISABLE_TELEMETRY": "1",
                "HF_HOME": str(tmp_path / "hf-home"), "HF_HUB_DISABLE_XET": "1"})
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, f"client subprocess failed:\n{proc.stdout}\n{proc.stderr}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_metadata_update_on_repo_without_readme(hub, tmp_path, hf_cache):
    token = hub.user("cardcli-owner")
    api = hub.api(token)
    repo_id = "cardcli-owner/from-template"
    api.create_repo(repo_id)

    out = run_client(hub, tmp_path, token, f"""
        import json
        from huggingface_hub import ModelCard, metadata_update
        from huggingface_hub.errors import EntryNotFoundError
        repo = {repo_id!r}
        out = {{}}
        try:
            ModelCard.load(repo)
            out["load"] = "found"
        except EntryNotFoundError as e:
            out["load"] = type(e).__name__
        out["url"] = metadata_update(repo, {{
            "license": "mit", "language": ["en", "fr"], "library_name": "peft", "pipeline_tag": "text-generation",
            "base_model": "acme/llm-base", "base_model_relation": "adapter", "region": "Asia", "industry": "healthcare",
            "model-index": [{{"name": "from-template", "results": [{{
                "task": {{"type": "text-generation", "name": "Text Generation"}},
                "dataset": {{"name": "Wiki", "type": "acme/wiki"}},
                "metrics": [{{"type": "perplexity", "value": 7.5, "name": "Perplexity"}}]}}]}}],
        }})
        card = ModelCard.load(repo)
        out["data"] = card.data.to_dict()
        out["has_template_text"] = "Model Card for" in card.text or "Model Details" in card.text
        try:
            metadata_update(repo, {{"license": "apache-2.0"}})
            out["conflict"] = "no error"
        except ValueError as e:
            out["conflict"] = str(e)
        out["url2"] = metadata_update(repo, {{"license": "apache-2.0", "tags": ["medical"]}}, overwrite=True)
        print(json.dumps(out))
    """)
    assert out["load"] in ("RemoteEntryNotFoundError", "EntryNotFoundError")
    assert out["url"].startswith(f"{hub.url}/{repo_id}/commit/")
    assert out["data"]["license"] == "mit"
    assert out["data"]["base_model_relation"] == "adapter"
    assert out["has_template_text"]
    assert "existing meta data field 'license'" in out["conflict"]

    info = api.model_info(repo_id)
    assert info.sha == out["url2"].rsplit("/", 1)[-1]
    assert info.card_data.license == "apache-2.0"
    assert info.card_data.language == ["en", "fr"]
    assert info.card_data.tags == ["medical"]
    assert info.card_data.eval_results[0].metric_value == 7.5
    assert info.pipeline_tag == "text-generation"
    assert info.library_name == "peft"
    assert set(info.tags) >= {"peft", "medical", "text-generation", "en", "fr", "license:apache-2.0",
                              "base_model:acme/llm-base", "base_model:adapter:acme/llm-base", "region:asia",
                              "industry:healthcare"}
    assert "license:mit" not in info.tags
    assert "base_model:finetune:acme/llm-base" not in info.tags
    # Two commits on top of the initial one, each with the README the client built
    assert len(api.list_repo_commits(repo_id)) == 3
    readme = hf_hub_download(repo_id, "README.md", endpoint=hub.url, token=token, cache_dir=hf_cache)
    with open(readme, encoding="utf-8") as f:
        assert f.read().startswith("---\n")


def test_modelcard_push_to_hub(hub, tmp_path, hf_cache):
    token = hub.user("cardcli-owner")
    api = hub.api(token)
    repo_id = "cardcli-owner/pushed-card"
    api.create_repo(repo_id)

    out = run_client(hub, tmp_path, token, f"""
        import json
        from huggingface_hub import ModelCard
        card = ModelCard({CARD!r})
        url = card.push_to_hub({repo_id!r}, commit_message="Add card")
        loaded = ModelCard.load({repo_id!r})
        print(json.dumps({{"url": url, "text": str(loaded), "license": loaded.data.license}}))
    """)
    assert out["url"].startswith(f"{hub.url}/{repo_id}/commit/")
    assert out["license"] == "apache-2.0"
    assert out["text"] == CARD

    path = hf_hub_download(repo_id, "README.md", endpoint=hub.url, token=token, cache_dir=hf_cache)
    with open(path, encoding="utf-8", newline="") as f:
        assert f.read() == CARD
    assert api.list_repo_commits(repo_id)[0].title == "Add card"

    info = api.model_info(repo_id)
    assert info.card_data.to_dict() == {
        "license": "apache-2.0", "language": ["en", "zh"], "library_name": "transformers",
        "pipeline_tag": "text-classification", "tags": ["sentiment", "finance"], "datasets": ["acme/reviews"],
        "base_model": "acme/base-7b", "region": ["EU", "cn"], "industry": "Finance"}
    assert info.pipeline_tag == "text-classification"
    assert info.library_name == "transformers"
    assert info.tags == ["transformers", "sentiment", "finance", "text-classification", "en", "zh",
                         "license:apache-2.0", "dataset:acme/reviews", "base_model:acme/base-7b",
                         "base_model:finetune:acme/base-7b", "region:eu", "region:cn", "industry:finance"]


def test_card_metadata_follows_every_commit_on_main(hub):
    token = hub.user("cardcli-owner")
    api = hub.api(token)
    repo_id = "cardcli-owner/evolving"
    api.create_repo(repo_id)
    info = api.model_info(repo_id)
    assert info.card_data is None and info.tags == [] and info.pipeline_tag is None

    api.upload_file(path_or_fileobj=CARD.encode(), path_in_repo="README.md", repo_id=repo_id)
    assert api.model_info(repo_id).pipeline_tag == "text-classification"

    new_card = "---\nlicense: mit\npipeline_tag: fill-mask\nlibrary_name: sentence-transformers\n---\n# v2\n"
    api.upload_file(path_or_fileobj=new_card.encode(), path_in_repo="README.md", repo_id=repo_id)
    info = api.model_info(repo_id)
    assert info.card_data.to_dict() == {"license": "mit", "pipeline_tag": "fill-mask",
                                        "library_name": "sentence-transformers"}
    assert info.tags == ["sentence-transformers", "fill-mask", "license:mit"]
    assert info.library_name == "sentence-transformers"

    # A card on another branch does not change what the repository (main) says about itself.
    api.create_branch(repo_id, branch="dev")
    api.upload_file(path_or_fileobj=b"---\nlicense: gpl-3.0\n---\n", path_in_repo="README.md", repo_id=repo_id,
                    revision="dev")
    info = api.model_info(repo_id)
    assert info.card_data.license == "mit"
    assert "license:gpl-3.0" not in info.tags

    # A README without front matter (accepted with the Hub's warning), then none at all: no
    # metadata, no derived tags.
    with pytest.warns(UserWarning, match="empty or missing YAML metadata"):
        api.upload_file(path_or_fileobj=b"# Just text\n", path_in_repo="README.md", repo_id=repo_id)
    info = api.model_info(repo_id)
    assert info.card_data is None and info.tags == [] and info.pipeline_tag is None and info.library_name is None
    api.upload_file(path_or_fileobj=new_card.encode(), path_in_repo="README.md", repo_id=repo_id)
    assert api.model_info(repo_id).card_data.license == "mit"
    api.delete_file("README.md", repo_id)
    info = api.model_info(repo_id)
    assert info.card_data is None and info.tags == [] and info.pipeline_tag is None


def test_card_data_in_raw_repo_info(hub):
    token = hub.user("cardcli-owner")
    api = hub.api(token)
    repo_id = "cardcli-owner/raw-info"
    api.create_repo(repo_id)
    api.upload_file(path_or_fileobj=CARD.encode(), path_in_repo="README.md", repo_id=repo_id)
    r = hub.get(f"/api/models/{repo_id}")
    assert r.status_code == 200
    body = r.json()
    assert body["cardData"]["license"] == "apache-2.0"
    assert body["pipeline_tag"] == "text-classification"
    assert body["library_name"] == "transformers"
    assert "license:apache-2.0" in body["tags"]
    only = hub.get(f"/api/models/{repo_id}", params=[("expand", "cardData"), ("expand", "tags")]).json()
    assert set(only) <= {"_id", "id", "cardData", "tags"}
    assert only["cardData"]["industry"] == "Finance"
