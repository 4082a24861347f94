"""Server side of Hugging Face's Xet storage protocol (chunks, xorbs, shards, reconstructions).

Implemented from the published Xet Protocol Specification (huggingface/hub-docs, docs/xet/):
`hashing` (chunk, xorb, file and verification hashes), `xorb` (parse and verify uploaded xorbs),
`shard` (parse uploaded shards, build dedup answers), `store` (content-addressed xorbs on disk,
the dedup index and file reconstructions), `reader` (a seekable file rebuilt from xorbs) and
`blobs` (the sha256 BlobStore that falls back to Xet files, so every reader of LFS objects works).
"""
