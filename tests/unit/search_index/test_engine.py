"""The on-disk index: updates and deletes, the writer lock, generations and rebuilds, crashed writers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from search_index import RepoDoc, SearchIndex
from search_index.query import SearchRequest, search
from tests.support.corpus import repo_docs
from tests.support.search import index_at

ROOT = Path(__file__).resolve().parents[3]


def doc(pk: int, card: str, name: str | None = None, **kw) -> RepoDoc:
    return RepoDoc(pk, "model", "ns", name or f"repo-{pk}", False, card_text=card, **kw)


def write(ix: SearchIndex, **kw) -> None:
    with ix.writer_lock():
        ix.apply(**kw)


def ids(ix: SearchIndex, text: str, **kw) -> list[str]:
    return [h.repo_id for h in search(ix, SearchRequest(text=text, limit=100, **kw)).hits]


def test_update_replaces_the_document_and_delete_removes_it(tmp_path):
    ix = index_at(tmp_path)
    write(ix, repos=[doc(1, "alphaword"), doc(2, "alphaword")])
    assert sorted(ids(ix, "alphaword")) == ["ns/repo-1", "ns/repo-2"]
    for round_ in range(5):  # the same thread's searcher is reused between writes
        write(ix, repos=[doc(1, f"betaword{round_}")])
        assert ids(ix, f"betaword{round_}") == ["ns/repo-1"]
        assert ids(ix, "alphaword") == ["ns/repo-2"]  # no stale duplicate of repo 1
        assert ix.doc_count() == 2
    write(ix, deleted_repos=[2])
    assert ids(ix, "alphaword") == []
    assert ix.doc_count() == 1
    write(ix, deleted_repos=[999])  # deleting something absent is fine
    assert ix.doc_count() == 1


def test_rename_changes_the_name_terms(tmp_path):
    ix = index_at(tmp_path)
    write(ix, repos=[doc(1, "card", name="oldname")])
    write(ix, repos=[RepoDoc(1, "model", "other", "newname", False, card_text="card")])
    assert ids(ix, "oldname") == [] and ids(ix, "ns") == []
    assert ids(ix, "newname") == ["other/newname"]


def test_another_instance_sees_committed_changes(tmp_path):
    writer, reader = index_at(tmp_path), index_at(tmp_path)
    assert ids(reader, "gammaword") == []
    write(writer, repos=[doc(1, "gammaword")])
    assert ids(reader, "gammaword") == ["ns/repo-1"]
    write(writer, deleted_repos=[1])
    assert ids(reader, "gammaword") == []


def test_index_persists_on_disk(tmp_path):
    write(index_at(tmp_path), repos=repo_docs())
    again = index_at(tmp_path)
    assert again.doc_count() == len(repo_docs())
    assert ids(again, "qwen") == ["Qwen/Qwen2.5-7B-Instruct"]


def test_visibility_follows_updates(tmp_path):
    ix = index_at(tmp_path)
    write(ix, repos=[RepoDoc(1, "model", "owner", "secret", True, card_text="deltaword")])
    assert ids(ix, "deltaword") == [] and ids(ix, "deltaword", viewer=["owner"]) == ["owner/secret"]
    write(ix, repos=[RepoDoc(1, "model", "owner", "secret", False, card_text="deltaword")])
    assert ids(ix, "deltaword") == ["owner/secret"]
    write(ix, repos=[RepoDoc(1, "model", "owner", "secret", True, card_text="deltaword")])
    assert ids(ix, "deltaword") == []


# ---- the writer lock -----------------------------------------------------------------------------

def test_writer_lock_is_exclusive(tmp_path):
    a, b = index_at(tmp_path), index_at(tmp_path)
    with a.writer_lock() as mine:
        assert mine is True
        with b.writer_lock(blocking=False) as theirs:
            assert theirs is False
    with b.writer_lock(blocking=False) as theirs:
        assert theirs is True


def _holder(root: Path, script: str) -> subprocess.Popen:
    code = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from search_index import RepoDoc
        from tests.support.search import index_at
        ix = index_at({str(root)!r})
    """) + textwrap.dedent(script)
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)


def test_a_killed_writer_releases_the_lock(tmp_path):
    index_at(tmp_path)
    p = _holder(tmp_path, """
        with ix.writer_lock():
            print("locked", flush=True)
            time.sleep(60)
    """)
    try:
        assert p.stdout.readline().strip() == "locked"
        with index_at(tmp_path).writer_lock(blocking=False) as mine:
            assert mine is False
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
        with index_at(tmp_path).writer_lock(blocking=False) as mine:
            assert mine is True
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()


def test_a_writer_killed_mid_commit_loses_nothing_committed(tmp_path):
    index_at(tmp_path)
    p = _holder(tmp_path, """
        i = 0
        while True:
            i += 1
            with ix.writer_lock():
                ix.apply(repos=[RepoDoc(i, "model", "k", f"r{i}", False, card_text=f"killword w{i} " * 200)])
            print(i, flush=True)
    """)
    try:
        committed = 0
        while committed < 15:
            committed = int(p.stdout.readline())
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()
    ix = index_at(tmp_path)
    found = ids(ix, "killword")
    assert len(found) >= committed
    assert sorted(found) == sorted(f"k/r{i}" for i in range(1, len(found) + 1))
    # and the next writer carries on
    write(ix, repos=[RepoDoc(10_000, "model", "k", "after", False, card_text="afterword")])
    assert ids(ix, "afterword") == ["k/after"]
    assert len(ids(ix, "killword")) == len(found)


# ---- generations and rebuilds --------------------------------------------------------------------

def test_rebuild_swaps_in_a_new_generation_with_the_same_results(tmp_path):
    ix = index_at(tmp_path)
    docs = repo_docs()
    write(ix, repos=docs)
    write(ix, repos=docs[:5])  # some updates: deleted documents in old segments
    queries = ["qwen", "大语言模型", "healthcare", "", "缺陷检测", "speech"]
    before = {q: ids(ix, q) for q in queries}
    gen1 = ix.generation()
    seen = []
    with ix.writer_lock():
        gen2 = ix.rebuild(iter(docs), [], progress=seen.append)
    assert gen2 != gen1 and ix.generation() == gen2
    assert os.readlink(ix.current_link) == gen2.name
    assert sum(seen) == len(docs)
    assert {q: ids(ix, q) for q in queries} == before
    assert ix.doc_count() == len(docs)
    # the generation just replaced is kept for readers still on it; older ones go
    with ix.writer_lock():
        gen3 = ix.rebuild(iter(docs), [])
    gens = sorted(p.name for p in tmp_path.glob("gen-*"))
    assert gens == sorted([gen2.name, gen3.name])
    assert {q: ids(ix, q) for q in queries} == before


def test_a_parallel_rebuild_finds_what_a_single_process_one_finds(tmp_path):
    """`modelhub index rebuild --procs N`: whoosh's multi-process writer, one segment per process,
    and the card's words analysed once for the card and its word pairs (analysis.CardAnalyzer)."""
    docs = repo_docs()
    queries = ["qwen", "大语言模型", "healthcare", "", "缺陷检测", "speech", '"defect detection"', '"语音 识别"']
    results = []
    for procs in (1, 3):
        ix = index_at(tmp_path / f"procs-{procs}")
        with ix.writer_lock():
            ix.rebuild(iter(docs), [], procs=procs)
        r = {q: search(ix, SearchRequest(text=q, facets=True, limit=50, viewer=None)) for q in queries}
        results.append({q: (x.total, sorted(h.pk for h in x.hits), x.facets) for q, x in r.items()})
        assert ix.doc_count() == len(docs)
    assert results[0] == results[1]
    assert results[0]['"defect detection"'][0] > 0  # the phrase is found (through card_pairs)


def test_rebuild_reflects_the_database_not_the_old_index(tmp_path):
    ix = index_at(tmp_path)
    write(ix, repos=[doc(1, "staleword"), doc(2, "keepword")])
    with ix.writer_lock():
        ix.rebuild(iter([doc(2, "keepword"), doc(3, "newword")]), [])
    assert ids(ix, "staleword") == [] and ids(ix, "keepword") == ["ns/repo-2"] and ids(ix, "newword") == ["ns/repo-3"]


def test_a_failed_rebuild_leaves_the_live_generation_alone(tmp_path):
    ix = index_at(tmp_path)
    write(ix, repos=[doc(1, "liveword")])
    live = ix.generation()

    def broken():
        yield doc(1, "liveword")
        raise RuntimeError("database went away")

    with ix.writer_lock():
        with pytest.raises(RuntimeError):
            ix.rebuild(broken(), [])
    assert ix.generation() == live
    assert sorted(p.name for p in tmp_path.glob("gen-*")) == [live.name]
    assert ids(ix, "liveword") == ["ns/repo-1"]
    with ix.writer_lock(blocking=False) as mine:
        assert mine is True


def test_readers_keep_answering_during_rebuilds(tmp_path):
    ix = index_at(tmp_path)
    docs = [doc(i, f"readerword filler{i} " + "text " * 20) for i in range(1, 121)]
    write(ix, repos=docs)
    stop = threading.Event()
    errors: list[BaseException] = []
    counts: list[int] = []

    def reader():
        while not stop.is_set():
            try:
                counts.append(search(ix, SearchRequest(text="readerword", limit=5)).total)
            except BaseException as e:  # reported below
                errors.append(e)
                return

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for _ in range(3):
            with ix.writer_lock():
                ix.rebuild(iter(docs), [])
            time.sleep(0.05)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert errors == []
    assert counts and set(counts) == {120}


def test_concurrent_writers_through_the_lock_lose_nothing(tmp_path):
    root = tmp_path
    index_at(root)
    errors: list[BaseException] = []

    def writer(k: int):
        ix = index_at(root)  # one instance per "process"
        try:
            for j in range(10):
                pk = k * 100 + j
                with ix.writer_lock():
                    ix.apply(repos=[doc(pk, f"lockword uniq{pk}")])
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    ix = index_at(root)
    assert len(ids(ix, "lockword")) == 60
    assert all(ids(ix, f"uniq{k * 100 + j}") == [f"ns/repo-{k * 100 + j}"] for k in range(6) for j in range(10))


def test_opening_the_index_retries_a_table_of_contents_deleted_under_it(tmp_path, monkeypatch):
    """A commit in another process deletes the table of contents whoosh is about to read: whoosh
    then raises FileNotFoundError from open_dir (it retries only when opening a reader)."""
    from whoosh import index as windex

    from search_index import engine

    ix = index_at(tmp_path / "s")
    real = windex.open_dir
    calls = []

    def racing_open_dir(*args, **kwargs):
        calls.append(1)
        if len(calls) <= 2:
            raise FileNotFoundError("_repos_7.toc")
        return real(*args, **kwargs)

    monkeypatch.setattr(engine.windex, "open_dir", racing_open_dir)
    assert ix.searcher(engine.REPOS).doc_count() == 0
    assert len(calls) == 3
