"""Mirroring between this registry and Hugging Face-compatible hubs (huggingface.co, its mirrors,
another ModelHub).

Layout (contract between the modules; see each module's docstring):
- `report.py`   – the plain-data results every sync step returns (`SyncReport`, `LfsCheck`).
- `upstream.py` – talking to a remote hub (HTTP API, git smart HTTP, LFS batch), with its token.
- `pull.py`     – `pull_repository(...)`: fetch refs/history/LFS objects from an upstream into a
                  local repository, atomically (all objects first, verified; refs last); a first
                  pull's repository (and missing namespace) appears only with its refs.
- `push.py`     – `push_repository(...)`: publish a local repository to a remote hub.
- `gitcli.py`   – the `git` binary on our bare repositories (fetch, push, object and pointer scans).
- `transfer.py` – LFS bytes over HTTP: resumable sha256-verified downloads, uploads.
- `progress.py` – the `Progress` protocol a sync step reports to (the CLI draws bars with it).
- `mirrors.py`  – `Mirrors`, the one entry object for mirrors (`registry.mirrors`); it delegates to:
  - `followed.py`  – followed mirrors: database records, schedule, one sync per repository at a
                     time, history, the stored token; wraps `pull_repository`;
  - `read_only.py` – the guard that keeps a mirror read-only;
  - `trust.py`     – LFS checks against the upstream ("verified"), what the model page shows;
  - `alerts.py`    – upstream license/gating changes held back until acknowledged;
  - `on_demand.py` – on-demand mirroring: `allowed` patterns, fetch on first request;
  - `mirror_records.py` – their plain-data records and the per-mirror lock's name.
- `importing.py` – publishing a folder or a Hugging Face cache entry from this machine's disk
                   (branches and tags, complete snapshots unless told partial).
"""
