"""What a killed process leaves of an unfinished upload is removed when `modelhub serve` starts
(files that do not name their writer, after MODELHUB_STALE_UPLOAD_HOURS without a change; those
that do, as soon as it is gone: tests/functional/test_crash_recovery.py); an interrupted
`sync pull` download is kept, since the next pull resumes it."""

from __future__ import annotations

from tests.support.live import start_hub


def test_serve_removes_partial_uploads_and_keeps_resumable_downloads(tmp_path):
    data = tmp_path / "data"
    staged = data / "tmp" / "stage-killed"
    xorb = data / "xet" / "tmp" / "xorb-killed"
    resumable = data / "tmp" / "sync-partial" / f"{'a' * 64}.part"
    for path in (staged, xorb, resumable):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\0" * 4096)

    hub = start_hub(data, workers=1, env={"MODELHUB_STALE_UPLOAD_HOURS": "0"})
    try:
        assert not staged.exists() and not xorb.exists()
        assert resumable.read_bytes() == b"\0" * 4096
        assert "removed 2 unfinished upload file(s) left by stopped processes" in hub.log()
        assert hub.get("/api/health").status_code == 200
    finally:
        hub.stop()
