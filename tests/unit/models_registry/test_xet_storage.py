"""Xet storage: hashes, xorb and shard parsing, and the store's refusal of bad or unverifiable input.

Hand-built xorbs and shards (tests/support/xet_build.py); the stock hf_xet client drives the same
code end to end in tests/functional/test_xet.py (its xorb and file hashes must match ours there).
"""

from __future__ import annotations

import hashlib
import io
import os
import struct

import pytest
from sqlalchemy import func, select

from hub import migrate
from models_registry.commits import AddLfsRef
from models_registry.errors import BadRequest
from models_registry.tables import LfsObject, RepoLfsObject, XetChunk, XetFile, XetXorb
from models_registry.registry import Registry
from models_registry.settings import RegistrySettings
from models_registry.storage.xet import hashing
from models_registry.storage.xet.shard import InvalidShard, parse_shard
from models_registry.storage.xet.xorb import InvalidXorb, parse_xorb
from tests.support.xet_build import Xorb, file_hash_str, shard

PASSWORD = "correct-horse-battery"


# ---- hashing ------------------------------------------------------------------------------------

def test_hash_string_form_reverses_each_8_byte_word():
    raw = bytes(range(32))
    # api.md's example; the spec's printed string drops one byte (…1211 1f…), the procedure is clear
    assert hashing.hash_to_str(raw) == "0706050403020100" "0f0e0d0c0b0a0908" "1716151413121110" "1f1e1d1c1b1a1918"
    assert hashing.str_to_hash(hashing.hash_to_str(raw)) == raw
    for bad in ("A" * 64, "0" * 63, "g" * 64, 5):
        with pytest.raises(ValueError):
            hashing.str_to_hash(bad)  # type: ignore[arg-type]


# Recorded from the stock client (hf_xet 1.8.0) uploading random.Random(20261126).randbytes(3 MiB): the
# chunk boundaries its content-defined chunking chose, the xorb hash it uploaded under and the file
# hash of its shard. A known answer from the reference implementation for a 48-leaf, multi-level tree.
HF_XET_CHUNK_SIZES = [43155, 93995, 131072, 76946, 23885, 40280, 131072, 30206, 49468, 127968, 48824, 66913,
                      113012, 51700, 86963, 55775, 75049, 45413, 28378, 117389, 11165, 122177, 62656, 131072,
                      35246, 68218, 65759, 12926, 52137, 35762, 96467, 33895, 26111, 131072, 43284, 16438, 96520,
                      48851, 9170, 131072, 131072, 42925, 18094, 78199, 10082, 131072, 20760, 46063]
HF_XET_XORB_HASH = "31df93c533a7b02d5baa14f89365725346677d9ea27468ee7388d85fb2455c36"
HF_XET_FILE_HASH = "fe693aeb41f219ee14c1160615dec9c1ba2de69bb9ed77c417f9a9a2105fa557"


def test_hashes_match_the_reference_client():
    import random
    data = random.Random(20261126).randbytes(3 * 1024 * 1024)
    assert sum(HF_XET_CHUNK_SIZES) == len(data)
    leaves, pos = [], 0
    for size in HF_XET_CHUNK_SIZES:
        leaves.append((hashing.chunk_hash(data[pos:pos + size]), size))
        pos += size
    assert hashing.hash_to_str(hashing.xorb_hash(leaves)) == HF_XET_XORB_HASH
    assert hashing.hash_to_str(hashing.file_hash(leaves)) == HF_XET_FILE_HASH


def test_merkle_tree_shape():
    leaves = [(hashing.chunk_hash(os.urandom(100)), 100) for _ in range(50)]
    # a single leaf is its own root; a file hash is the root hashed again with the zero key
    assert hashing.merkle_root(leaves[:1]) == leaves[0][0]
    assert hashing.file_hash(leaves[:1]) != leaves[0][0]
    # two leaves make one internal node over "hex : size" lines
    text = "".join(f"{hashing.hash_to_str(h)} : {n}\n" for h, n in leaves[:2]).encode()
    from blake3 import blake3
    assert hashing.merkle_root(leaves[:2]) == blake3(text, key=hashing.INTERNAL_NODE_KEY).digest()
    # order and sizes matter
    assert hashing.merkle_root(leaves) != hashing.merkle_root(leaves[::-1])
    assert hashing.merkle_root(leaves) != hashing.merkle_root([(h, n + 1) for h, n in leaves])


def test_verification_hash_is_keyed_over_raw_chunk_hashes():
    from blake3 import blake3
    hs = [os.urandom(32) for _ in range(3)]
    assert hashing.verification_hash(hs) == blake3(b"".join(hs), key=hashing.VERIFICATION_KEY).digest()


# ---- xorbs --------------------------------------------------------------------------------------

def _parse(x: Xorb, name: str | None = None):
    return parse_xorb(io.BytesIO(x.body), len(x.body), name or x.hash)


@pytest.mark.parametrize("footer", [True, False])
def test_xorb_with_every_compression_scheme_parses(footer):
    data = (b"\x00\x01\x02\x03" * 30000) + os.urandom(70000) + b"abc" * 9000
    x = Xorb.of(data, size=50000, kinds=[0, 1, 2, 1, 2, 0, 2][: -(-len(data) // 50000)], footer=footer)
    info = _parse(x)
    assert [c.size for c in info.chunks] == [len(c) for c in x.chunks]
    assert [c.hash for c in info.chunks] == x.hashes
    assert [c.offset for c in info.chunks] == x.offsets


def test_xorb_refusals():
    x = Xorb.of(os.urandom(200000), kinds=[1, 1, 1, 1])
    with pytest.raises(InvalidXorb, match="hash mismatch"):
        _parse(x, name="0" * 64)
    flipped = bytearray(x.body)
    flipped[100] ^= 0xFF  # inside the first chunk's compressed data
    with pytest.raises(InvalidXorb):
        parse_xorb(io.BytesIO(bytes(flipped)), len(flipped), x.hash)
    for cut in (5, 1000, len(x.body) - 60):
        with pytest.raises(InvalidXorb):
            parse_xorb(io.BytesIO(x.body[:cut]), cut, x.hash)
    footed = Xorb.of(os.urandom(100000), footer=True)
    wrong_length = footed.body[:-4] + struct.pack("<I", struct.unpack("<I", footed.body[-4:])[0] + 1)
    with pytest.raises(InvalidXorb, match="footer"):
        parse_xorb(io.BytesIO(wrong_length), len(wrong_length), footed.hash)
    bad_header = bytearray(x.body)
    bad_header[4] = 9  # unknown compression
    with pytest.raises(InvalidXorb):
        parse_xorb(io.BytesIO(bytes(bad_header)), len(bad_header), x.hash)


# ---- shards -------------------------------------------------------------------------------------

def test_shard_round_trip_and_truncation():
    data = os.urandom(150000)
    x = Xorb.of(data)
    body = shard([(data, [(x, 0, 3)])], [x])
    s = parse_shard(body)
    assert [f.file_hash for f in s.files] == [file_hash_str([(x, 0, 3)])]
    assert s.files[0].sha256 == hashlib.sha256(data).hexdigest()
    assert [(c.xorb, c.num_chunks) for c in s.xorbs] == [(x.hash, 3)]
    for cut in (10, 48, 100, len(body) - 48, len(body) - 1):
        with pytest.raises(InvalidShard):
            parse_shard(body[:cut])
    with pytest.raises(InvalidShard, match="header tag"):
        parse_shard(b"X" + body[1:])
    with pytest.raises(InvalidShard):
        parse_shard(body + b"junk")


# ---- the store ----------------------------------------------------------------------------------

@pytest.fixture
def registry(tmp_path):
    reg = Registry(RegistrySettings.for_data_dir(tmp_path / "data"))
    migrate.upgrade(reg.db)
    yield reg
    reg.close()


@pytest.fixture
def repos(registry):
    reg = registry
    reg.accounts.create_user("alice", PASSWORD)
    alice = reg.accounts.authenticate_token(reg.accounts.create_token("alice", role="write"))
    return alice, reg.repos.create(alice, "model", "alice", "a"), reg.repos.create(alice, "model", "alice", "b")


def _count(reg, model) -> int:
    with reg.db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_store_accepts_a_verified_upload_and_serves_ranges(registry, repos):
    reg, (alice, a, b) = registry, repos
    data = os.urandom(300000)
    x = Xorb.of(data, kinds=[0, 1, 2, 1, 0])
    assert reg.xet.put_xorb(x.hash, io.BytesIO(x.body)) is True
    assert reg.xet.put_xorb(x.hash, io.BytesIO(x.body)) is False  # idempotent
    files = reg.xet.register_shard(shard([(data, [(x, 0, 2), (x, 2, 5)])], [x]), a.id)
    oid = hashlib.sha256(data).hexdigest()
    assert [(f.sha256, f.size) for f in files] == [(oid, len(data))]
    assert reg.blobs.exists(oid) and reg.blobs.size(oid) == len(data) and reg.blobs.local_path(oid) is None
    with reg.blobs.open(oid) as f:
        assert f.read() == data
        for start, n in ((0, 10), (65530, 20), (299990, 100), (131072, 65536)):
            f.seek(start)
            assert f.read(n) == data[start:start + n]
    with reg.db.session() as s:
        obj = s.get(LfsObject, oid)
        sha1 = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        assert (obj.size, obj.sha1) == (len(data), sha1)
        assert s.get(RepoLfsObject, (a.id, oid)) is not None
        assert s.get(RepoLfsObject, (b.id, oid)) is None  # linked only to the token's repository
    # the commit resolves the oid in `a`; in `b` it was never uploaded
    reg.commits.commit(alice, a, "main", [AddLfsRef("w.bin", oid, len(data))], "add")
    with pytest.raises(BadRequest, match="never uploaded"):
        reg.commits.commit(alice, b, "main", [AddLfsRef("w.bin", oid, len(data))], "add")


def test_known_file_registers_without_a_second_pass_but_not_under_another_sha256(registry, repos):
    reg, (_, a, b) = registry, repos
    data = os.urandom(150000)
    x = Xorb.of(data)
    reg.xet.put_xorb(x.hash, io.BytesIO(x.body))
    body = shard([(data, [(x, 0, 3)]), (data, [(x, 0, 3)])], [x])  # the same file twice in one shard
    assert len(reg.xet.register_shard(body, a.id)) == 2
    with pytest.raises(InvalidShard, match="sha256 mismatch"):
        reg.xet.register_shard(shard([(data, [(x, 0, 3)])], [x], sha256_override="cd" * 32), b.id)
    oid = hashlib.sha256(data).hexdigest()
    assert not reg.xet.linked(b.id, oid)
    reg.xet.register_shard(shard([(data, [(x, 0, 3)])], [x]), b.id)
    assert reg.xet.linked(a.id, oid) and reg.xet.linked(b.id, oid)
    assert (_count(reg, XetFile), _count(reg, LfsObject)) == (1, 1)


def test_dedup_answer_lists_the_xorb_and_its_siblings_behind_an_hmac_key(registry, repos):
    reg, (_, a, _) = registry, repos
    part1, part2 = os.urandom(200000), os.urandom(100000)
    x1, x2 = Xorb.of(part1), Xorb.of(part2)
    reg.xet.put_xorb(x1.hash, io.BytesIO(x1.body))
    answer = parse_shard(reg.xet.dedup_shard(hashing.hash_to_str(x1.hashes[0])))
    assert answer.files == [] and [c.xorb for c in answer.xorbs] == [x1.hash]
    # once a file uses both xorbs, a query for either lists both (the queried one first)
    reg.xet.put_xorb(x2.hash, io.BytesIO(x2.body))
    reg.xet.register_shard(shard([(part1 + part2, [(x1, 0, 4), (x2, 0, 2)])], [x1, x2]), a.id)
    raw = reg.xet.dedup_shard(hashing.hash_to_str(x2.hashes[0]))
    answer = parse_shard(raw)  # a footer, no files, one CAS block per xorb, hashes HMAC-protected
    assert [c.xorb for c in answer.xorbs] == [x2.hash, x1.hash]
    key = raw[-200 + 72:-200 + 104]
    assert key != bytes(32)
    assert [h for h, _, _ in answer.xorbs[1].chunks] == [hashing.hmac_hash(h, key) for h in x1.hashes]
    assert [(o, n) for _, o, n in answer.xorbs[1].chunks] == [(o, len(c)) for o, c in zip(x1.offsets, x1.chunks)]
    # a fresh key per answer; unknown chunks are 404
    assert reg.xet.dedup_shard(hashing.hash_to_str(x2.hashes[0]))[-200 + 72:-200 + 104] != key
    from models_registry.errors import NotFound
    with pytest.raises(NotFound):
        reg.xet.dedup_shard("1" * 64)


@pytest.mark.parametrize("case", ["missing xorb", "bad verification", "bad sha256", "range outside xorb",
                                  "wrong term size", "truncated"])
def test_store_refuses_unverifiable_shards_and_records_nothing(registry, repos, case):
    reg, (_, a, _) = registry, repos
    data = os.urandom(200000)
    x = Xorb.of(data)
    if case != "missing xorb":
        reg.xet.put_xorb(x.hash, io.BytesIO(x.body))
    body = {
        "missing xorb": lambda: shard([(data, [(x, 0, 4)])], [x]),
        "bad verification": lambda: shard([(data, [(x, 0, 4)])], [x], verification_override=bytes(32)),
        "bad sha256": lambda: shard([(data, [(x, 0, 4)])], [x], sha256_override="ab" * 32),
        "range outside xorb": lambda: shard([(data, [(x, 0, 4)])], [x]).replace(
            struct.pack("<II", 0, 4), struct.pack("<II", 0, 9), 1),
        "wrong term size": lambda: shard([(data, [(x, 0, 4)])], [x]).replace(
            struct.pack("<IIII", 0, len(data), 0, 4), struct.pack("<IIII", 0, len(data) - 1, 0, 4), 1),
        "truncated": lambda: shard([(data, [(x, 0, 4)])], [x])[:-50],
    }[case]()
    with pytest.raises(InvalidShard):
        reg.xet.register_shard(body, a.id)
    assert (_count(reg, XetFile), _count(reg, LfsObject), _count(reg, RepoLfsObject)) == (0, 0, 0)
    assert _count(reg, XetXorb) == (0 if case == "missing xorb" else 1)


def test_refused_xorb_leaves_nothing_behind(registry):
    reg = registry
    x = Xorb.of(os.urandom(100000))
    with pytest.raises(InvalidXorb):
        reg.xet.put_xorb(x.hash, io.BytesIO(x.body[:-10] + b"0123456789"))
    with pytest.raises(BadRequest):
        reg.xet.put_xorb("not-a-hash", io.BytesIO(x.body))
    assert _count(reg, XetXorb) == 0 and _count(reg, XetChunk) == 0
    assert [p for p in (reg.settings.data_dir / "xet").rglob("*") if p.is_file()] == []


def test_xorb_of_known_length_is_received_into_the_writers_buffers(registry):
    reg = registry
    x = Xorb.of(os.urandom(3 * 1024 * 1024 + 12345), kinds=[0, 1, 2] * 17)
    reads: list[int] = []

    class Body(io.BytesIO):
        def readinto(self, b) -> int:
            reads.append(len(b))
            return super().readinto(b)

        def read(self, *a):  # the known-length path never copies through read()
            raise AssertionError("read() called")

    assert reg.xet.put_xorb(x.hash, Body(x.body), body_length=len(x.body)) is True
    assert sum(1 for n in reads if n) >= 2  # block by block, not in one piece
    with reg.xet.store.open_xorb(x.hash) as f:
        assert f.read() == x.body


def test_xorb_of_known_length_over_the_limit_or_short_is_refused(registry):
    reg = registry
    x = Xorb.of(os.urandom(300_000))
    body = io.BytesIO(x.body + b"\0" * 5_000_000)
    with pytest.raises(InvalidXorb, match="limit"):
        reg.xet.put_xorb(x.hash, body, limit=1_000_000, body_length=len(x.body) + 5_000_000)
    assert body.tell() < 1_000_000 + 4 * 1024 * 1024  # stopped near the limit, not at the end
    with pytest.raises(InvalidXorb):  # the client announced more than it sent
        reg.xet.put_xorb(x.hash, io.BytesIO(x.body[:200_000]), body_length=len(x.body))
    assert _count(reg, XetXorb) == 0
    assert [p for p in (reg.settings.data_dir / "xet").rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("block", [100_000, 8 * 1024 * 1024])
def test_shard_verification_rebuilds_files_across_blocks_xorbs_and_compressions(registry, repos, monkeypatch, block):
    """The sha256 (and sha1) pass reads chunk runs in blocks, threaded when the file exceeds one block;
    a file made of sub-ranges of several xorbs with every compression scheme must hash exactly."""
    from models_registry.storage.xet import rehash

    monkeypatch.setattr(rehash, "BLOCK", block)
    reg, (_, a, _) = registry, repos
    parts = [os.urandom(n) for n in (300000, 250000)]
    x1 = Xorb.of(parts[0], size=30000, kinds=[0, 1, 2] * 4)
    x2 = Xorb.of(parts[1], size=65536, kinds=[2, 0, 1, 0])
    for x in (x1, x2):
        reg.xet.put_xorb(x.hash, io.BytesIO(x.body))
    terms = [(x1, 2, 7), (x2, 0, 4), (x1, 0, 2), (x1, 7, 10)]
    data = b"".join(b"".join(x.chunks[s:e]) for x, s, e in terms)
    files = reg.xet.register_shard(shard([(data, terms)], [x1, x2]), a.id)
    oid = hashlib.sha256(data).hexdigest()
    assert [(f.sha256, f.size) for f in files] == [(oid, len(data))]
    with reg.db.session() as s:
        assert s.get(LfsObject, oid).sha1 == hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
    with reg.blobs.open(oid) as f:
        assert f.read() == data
        for start, n in ((0, 1), (29999, 2), (150000, 300000), (len(data) - 5, 100)):
            f.seek(start)
            assert f.read(n) == data[start:start + n]


def test_shard_refused_when_a_stored_xorb_was_damaged(registry, repos, monkeypatch):
    from models_registry.storage.xet import rehash

    monkeypatch.setattr(rehash, "BLOCK", 100_000)  # the threaded path: the error crosses threads
    reg, (_, a, _) = registry, repos
    data = os.urandom(400000)
    x = Xorb.of(data)
    reg.xet.put_xorb(x.hash, io.BytesIO(x.body))
    path = reg.xet.xorb_path(x.hash)
    path.write_bytes(path.read_bytes()[:300000])
    with pytest.raises(BadRequest, match="Truncated xorb"):
        reg.xet.register_shard(shard([(data, [(x, 0, len(x.chunks))])], [x]), a.id)
    assert (_count(reg, XetFile), _count(reg, LfsObject), _count(reg, RepoLfsObject)) == (0, 0, 0)


def test_xorb_verified_the_same_whatever_pieces_the_body_arrives_in():
    from models_registry.storage.xet.xorb import XorbVerifier

    for footer in (False, True):
        x = Xorb.of(os.urandom(200000), size=30000, kinds=[0, 1, 2, 0, 1, 2, 0], footer=footer)
        whole = parse_xorb(io.BytesIO(x.body), len(x.body), x.hash)
        for step in (1, 7, 8, 9, 4096, 65537):
            v = XorbVerifier(x.hash)
            for i in range(0, len(x.body), step):
                v.feed(x.body[i:i + step])
            info = v.finish()
            assert (info.chunks, info.chunks_end, info.stored_bytes) == (whole.chunks, whole.chunks_end,
                                                                          whole.stored_bytes)
        v = XorbVerifier(x.hash)
        v.feed(x.body[:len(x.body) - (40 if footer else 5)])
        with pytest.raises(InvalidXorb):
            v.finish()


def test_rehash_reads_around_the_page_cache_and_falls_back_where_refused(tmp_path):
    from models_registry.storage.xet import rehash

    data = os.urandom(3 * 4096 + 777)
    path = tmp_path / "xorb"
    path.write_bytes(data)
    try:  # does this filesystem take O_DIRECT at all? (asked directly, not through the code under test)
        os.close(os.open(path, os.O_RDONLY | os.O_DIRECT))
    except OSError:
        pytest.skip("this filesystem refuses O_DIRECT (rehash then reads through the page cache)")
    with open(path, "rb") as f:
        x = rehash._Xorb(f)
        assert x.direct
        aligned = rehash._buffer(8192 + rehash.SLACK)
        assert bytes(x.read(aligned, 5000, 8000)) == data[5000:13000]  # rounded out, sliced back
        assert bytes(x.read(aligned, 12000, 5000)) == data[12000:]  # past the end: what there is
        # an unaligned buffer: this kernel refuses the O_DIRECT read (EINVAL) ...
        unaligned = bytearray(8192 + rehash.SLACK + 1)
        assert bytes(x.read(memoryview(unaligned)[1:], 100, 4000)) == data[100:4100]
        assert not x.direct  # ... and the file is read through the page cache from then on
