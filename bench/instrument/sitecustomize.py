"""Diagnostic for bench/transfer.py --instrument: where does the server spend an LFS PUT?

Loaded by the server processes through PYTHONPATH (Python imports `sitecustomize` at start-up) when
MODELHUB_BENCH_INSTRUMENT=1. It edits no server file: it wraps, at run time, the pieces that
models_registry.storage.staging.Stager.from_stream uses (the request stream's read(), the sha256
object, the staging file's write(), os.fsync, StagingWriter.finish) with timers, and prints one
line per large staged upload to the server log:

    BENCH-INSTR size=N total=... read=... sha256=... write=... fsync=... finish-rest=... | thread CPU ...

`finish-rest` is StagingWriter.finish without the fsync, i.e. the second (git sha1) pass. Uploads
over staging.DIRECT_MIN take the O_DIRECT pipeline instead (models_registry.storage.direct_writer):
their bytes are received straight into its buffers (so `read`, `sha256` and `write` above stay
near zero) and the line ends with

    | direct: copy+wait=... of which hash+wait=... (hash cpu ...) close=... write(wall/cpu)=...

the receiving thread's time in DirectWriter.write and _submit (copying; hashing each full buffer
and waiting for a free one; the CPU time of the latter, i.e. the hashing), close() (the last
buffers), and the write thread's wall and CPU time. Wall times are distorted
by other processes; the thread-CPU figures are not.
"""

from __future__ import annotations

import os
import sys
import threading
import time

if os.environ.get("MODELHUB_BENCH_INSTRUMENT") == "1":
    import models_registry.storage.staging as _st

    _local = threading.local()
    _PHASES = ("read", "sha256", "write", "fsync", "finish-rest")

    def _acc():
        return getattr(_local, "acc", None)

    class _Timed:
        """Proxy that times one method of the wrapped object into the current request's accumulator."""

        def __init__(self, obj, method: str, phase: str) -> None:
            self._obj, self._method, self._phase = obj, method, phase

        def __getattr__(self, name):
            value = getattr(self._obj, name)
            if name != self._method:
                return value

            def timed(*a, **kw):
                acc = _acc()
                if acc is None:
                    return value(*a, **kw)
                w, c = time.perf_counter(), time.thread_time()
                try:
                    return value(*a, **kw)
                finally:
                    acc[0][self._phase] += time.perf_counter() - w
                    acc[1][self._phase] += time.thread_time() - c
            return timed

    class _Os:
        def __getattr__(self, name):
            return getattr(os, name)

        def fsync(self, fd):
            return _Timed(os, "fsync", "fsync").fsync(fd)

    _st.os = _Os()

    _orig_writer = _st.Stager.writer
    _orig_finish = _st.StagingWriter.finish
    _orig_from_stream = _st.Stager.from_stream

    def _writer(self, *a, **kw):
        w = _orig_writer(self, *a, **kw)
        w._sha256 = _Timed(w._sha256, "update", "sha256")
        w._file = _Timed(w._file, "write", "write")
        return w

    def _finish(self):
        acc = _acc()
        if acc is None:
            return _orig_finish(self)
        before_wall, before_cpu = acc[0]["fsync"], acc[1]["fsync"]
        w, c = time.perf_counter(), time.thread_time()
        try:
            return _orig_finish(self)
        finally:
            acc[0]["finish-rest"] += time.perf_counter() - w - (acc[0]["fsync"] - before_wall)
            acc[1]["finish-rest"] += time.thread_time() - c - (acc[1]["fsync"] - before_cpu)

    def _from_stream(self, stream, *a, **kw):
        length = kw.get("length")
        _local.acc = ({p: 0.0 for p in _PHASES}, {p: 0.0 for p in _PHASES})
        w, c = time.perf_counter(), time.thread_time()
        try:
            return _orig_from_stream(self, _Timed(stream, "read", "read"), *a, **kw)
        finally:
            wall, cpu = _local.acc
            _local.acc = None
            if length and length >= 8 * 1024 * 1024:
                print(f"BENCH-INSTR size={length} total={time.perf_counter() - w:.2f} "
                      + " ".join(f"{p}={wall[p]:.2f}" for p in _PHASES)
                      + f" | thread CPU total={time.thread_time() - c:.2f} "
                      + " ".join(f"{p}={cpu[p]:.2f}" for p in _PHASES)
                      + getattr(_local, "direct", ""), file=sys.stderr, flush=True)
                _local.direct = ""

    import models_registry.storage.direct_writer as _dw

    def _timed_loop(name):
        orig = getattr(_dw.DirectWriter, name)

        def loop(self):
            w, c = time.perf_counter(), time.thread_time()
            try:
                return orig(self)
            finally:
                self.__dict__.setdefault("_instr", {})[name] = (time.perf_counter() - w, time.thread_time() - c)
        setattr(_dw.DirectWriter, name, loop)

    _timed_loop("_write_loop")
    _orig_submit, _orig_close, _orig_dwrite = _dw.DirectWriter._submit, _dw.DirectWriter.close, _dw.DirectWriter.write

    def _submit(self, last=False):
        w, c = time.perf_counter(), time.thread_time()
        try:
            return _orig_submit(self, last)
        finally:
            self.__dict__["_wait"] = self.__dict__.get("_wait", 0.0) + time.perf_counter() - w
            self.__dict__["_hcpu"] = self.__dict__.get("_hcpu", 0.0) + time.thread_time() - c

    def _dwrite(self, data):
        w = time.perf_counter()
        try:
            return _orig_dwrite(self, data)
        finally:
            self.__dict__["_dw"] = self.__dict__.get("_dw", 0.0) + time.perf_counter() - w

    def _close(self):
        w = time.perf_counter()
        try:
            return _orig_close(self)
        finally:
            i = self.__dict__.get("_instr", {})
            _local.direct = (f" | direct: copy+wait={self.__dict__.get('_dw', 0.0):.2f} of which hash+wait={self.__dict__.get('_wait', 0.0):.2f}"
                             f" (hash cpu {self.__dict__.get('_hcpu', 0.0):.2f})"
                             f" close={time.perf_counter() - w:.2f}"
                             + "".join(f" {k[1:-5]}(wall/cpu)={v[0]:.2f}/{v[1]:.2f}" for k, v in i.items()))

    _dw.DirectWriter._submit = _submit
    _dw.DirectWriter.write = _dwrite
    _dw.DirectWriter.close = _close

    _st.Stager.writer = _writer
    _st.StagingWriter.finish = _finish
    _st.Stager.from_stream = _from_stream
