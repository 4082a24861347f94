"""Read one run of huggingface_hub's own test suite against the floor recorded here (issue #21).

The floor (`floor.txt`: `xet0=N`, `xet1=N`) is the number of upstream tests that passed when it was
last raised, and only ever rises: CI fails when fewer pass, so a compatibility regression cannot land
unnoticed, while a run that passes more says by how much the floor may be raised. Tests that need a
product of huggingface.co this hub does not offer (yet) are listed by name and reason in
`out-of-scope.txt`; every other failure is a ModelHub gap, and printed as one.

    python .ci/hf-upstream/ratchet.py WORK_DIR/results-xet0.xml --xet 0
"""
from __future__ import annotations

import argparse
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent


def read_floor(path: Path, key: str) -> int:
    for line in path.read_text().splitlines():
        name, _, value = line.partition("=")
        if name.strip() == key:
            return int(value)
    raise SystemExit(f"{path} has no {key}= line")


def read_out_of_scope(path: Path, run: str) -> list[tuple[str, str]]:
    """(test id prefix, reason) pairs that hold for `run` ("xet0" or "xet1"); '#' starts a comment,
    a line starting "xet0:" or "xet1:" holds for that run only."""
    rules = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        only, sep, rest = line.partition(":")
        if sep and only in ("xet0", "xet1") and not rest.startswith(":"):
            if only != run:
                continue
            line = rest.strip()
        prefix, _, reason = line.partition("|")
        rules.append((prefix.strip(), reason.strip()))
    return rules


def outcomes(junit: Path) -> dict[str, tuple[str, str]]:
    """test id (tests.file.Class::name) -> (passed|failure|error|skipped, first line of the message)."""
    result = {}
    for tc in ET.parse(junit).getroot().iter("testcase"):
        status = next((s for s in ("failure", "error", "skipped") if tc.find(s) is not None), "passed")
        message = ""
        if status != "passed":
            lines = (tc.find(status).get("message") or "").strip().splitlines()
            message = lines[0][:160] if lines else ""
        result[f"{tc.get('classname')}::{tc.get('name')}"] = (status, message)
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("junit", type=Path, help="the run's junit XML (results-xetN.xml)")
    ap.add_argument("--xet", choices=("0", "1"), required=True, help="which run: Xet off (0) or on (1)")
    ap.add_argument("--floor", type=Path, default=HERE / "floor.txt")
    ap.add_argument("--out-of-scope", type=Path, default=HERE / "out-of-scope.txt")
    args = ap.parse_args(argv)

    if not args.junit.is_file():
        print(f"[upstream] no results at {args.junit}: the run did not get to pytest (see its log)")
        return 1
    floor = read_floor(args.floor, f"xet{args.xet}")
    rules = read_out_of_scope(args.out_of_scope, f"xet{args.xet}")
    results = outcomes(args.junit)
    passed = sum(1 for status, _ in results.values() if status == "passed")
    counts: dict[str, int] = {}
    gaps, excused = [], []
    for test, (status, message) in sorted(results.items()):
        counts[status] = counts.get(status, 0) + 1
        if status not in ("failure", "error"):
            continue
        reason = next((r for prefix, r in rules if test.startswith(prefix)), None)
        (excused if reason else gaps).append((test, status, reason or message))

    print(f"[upstream] Xet {'on' if args.xet == '1' else 'off'}: {counts}")
    for test, status, reason in excused:
        print(f"  out of scope  {status:7} {test}  ({reason})")
    for test, status, message in gaps:
        print(f"  GAP           {status:7} {test}  :: {message}")
    print(f"[upstream] {passed} passed; floor {floor}")
    if passed < floor:
        print(f"[upstream] FAILED: {floor - passed} fewer than the floor", file=sys.stderr)
        return 1
    if passed > floor:
        print(f"[upstream] {passed - floor} above the floor: raise xet{args.xet} in {args.floor.name} to {passed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
