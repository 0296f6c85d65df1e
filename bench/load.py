"""Concurrent viewers against a real Accord server (issue 16, item 6): page times, errors and server memory.
A measurement, never a CI test; its results go to bench/load-results.md.

    python bench/load.py DB [--sessions 50] [--seconds 60] [--think 1.0] [--pages overview,sla,pipeline]

Starts `streamlit run app.py` on a free loopback port with ACCORD_DB_PATH=DB (use a copy: the app may
write its defaults), then opens SESSIONS viewer sessions over Streamlit's own WebSocket protocol — what a
browser tab sends: a rerun request for a page, then every message of that run until "script finished".
Each session opens the home page, then visits the listed pages in turn (as a click in the menu does, by the
page's script hash) with a think time between views, until SECONDS have passed. No browser draws anything,
so the client costs little and the two cores measure the server: the Python script runs, the queries, the
caches and the protocol, which is where a page's time goes.

Page time = from sending the rerun request to the run's "script finished" message. Errors = a run that
shows an exception, ends otherwise than successfully, times out or loses its connection. Server memory =
the server process's resident set (VmRSS, /proc), sampled every 0.25 s: before any session, after one warm-up
view of every page, during the load (median and peak) and after every session has closed.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

ROOT = Path(__file__).resolve().parents[1]
PAGE_TIMEOUT_SECONDS = 300.0


@dataclass
class Results:
    times: dict[str, list[float]] = field(default_factory=dict)  # page -> seconds per view
    errors: list[str] = field(default_factory=list)

    def add(self, page: str, seconds: float) -> None:
        self.times.setdefault(page, []).append(seconds)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class MemorySampler(threading.Thread):
    """The server's resident memory every `every` seconds, tagged with the phase it was taken in."""

    def __init__(self, pid: int, every: float = 0.25):
        super().__init__(daemon=True)
        self.pid, self.every, self.phase = pid, every, "before"
        self.samples: list[tuple[str, float]] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.samples.append((self.phase, _rss_mib(self.pid)))
            except OSError:
                return
            self._stop_event.wait(self.every)

    def stop(self) -> None:
        self._stop_event.set()

    def of(self, phase: str) -> list[float]:
        return [v for p, v in self.samples if p == phase]


def _start_server(db: Path, port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "ACCORD_DB_PATH": str(db)}
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
           # as a deployment runs: without the watcher, which reloads modules when a source file changes (in a
           # checkout others edit, a reload mid-run fails sessions with KeyError from sys.modules)
           "--server.fileWatcherType", "none", "--server.runOnSave", "false"]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # polled: the server gives no other signal that it listens
        if proc.poll() is not None:
            raise SystemExit(f"the server exited ({proc.returncode}); see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return proc
        except OSError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"the server did not answer within 120 s; see {log}")


class Viewer:
    """One browser tab's worth of protocol: a WebSocket session that asks for page runs."""

    def __init__(self, port: int):
        self.url = f"ws://127.0.0.1:{port}/_stcore/stream"
        self.origin = f"http://127.0.0.1:{port}"
        self.ws = None
        self.pages: dict[str, str] = {}  # url path -> page script hash, from the navigation message

    async def __aenter__(self) -> Viewer:
        self.ws = await websockets.connect(self.url, subprotocols=["streamlit"], origin=self.origin,
                                           max_size=None, open_timeout=60, ping_interval=None)
        return self

    async def __aexit__(self, *exc) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def view(self, page: str | None) -> tuple[float, str | None]:
        """(seconds, error or None) for one run of `page` (None: the home page)."""
        msg = BackMsg()
        msg.rerun_script.query_string = ""
        if page:
            if page not in self.pages:
                raise SystemExit(f"no page {page!r} in the menu; the menu has: {', '.join(sorted(self.pages))}")
            msg.rerun_script.page_script_hash = self.pages[page]
        msg.rerun_script.page_name = page or ""
        started = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        error = None
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), PAGE_TIMEOUT_SECONDS)
            fwd = ForwardMsg()
            fwd.ParseFromString(raw)
            kind = fwd.WhichOneof("type")
            if kind == "navigation":
                for p in fwd.navigation.app_pages:
                    self.pages[p.url_pathname] = p.page_script_hash
            elif kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                if fwd.delta.new_element.WhichOneof("type") == "exception" and error is None:
                    error = f"exception on {page or 'home'}: {fwd.delta.new_element.exception.message[:200]}"
            elif kind == "script_finished":
                status = fwd.script_finished
                if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    continue
                if status != ForwardMsg.FINISHED_SUCCESSFULLY and error is None:
                    error = f"{page or 'home'} finished with status {status}"
                return time.perf_counter() - started, error


async def _session(i: int, port: int, pages: list[str], deadline: float, think: float, results: Results,
                   rng: random.Random) -> None:
    try:
        async with Viewer(port) as viewer:
            seconds, error = await viewer.view(None)
            results.add("home", seconds)
            if error:
                results.errors.append(f"session {i}: {error}")
            at = rng.randrange(len(pages))  # sessions start on different pages, as people do
            while time.monotonic() < deadline:
                await asyncio.sleep(think * rng.uniform(0.5, 1.5))  # a person reading the page
                page = pages[at % len(pages)]
                at += 1
                seconds, error = await viewer.view(page)
                results.add(page, seconds)
                if error:
                    results.errors.append(f"session {i}: {error}")
    except (TimeoutError, OSError, websockets.WebSocketException) as exc:
        results.errors.append(f"session {i}: {type(exc).__name__}: {exc}")


async def _load(port: int, sessions: int, seconds: float, think: float, pages: list[str], seed: int) -> Results:
    results = Results()
    deadline = time.monotonic() + seconds
    rng = random.Random(seed)
    await asyncio.gather(*(_session(i, port, pages, deadline, think, results, random.Random(rng.random()))
                           for i in range(sessions)))
    return results


async def _warm_up(port: int, pages: list[str]) -> Results:
    results = Results()
    async with Viewer(port) as viewer:
        for page in [None, *pages]:
            seconds, error = await viewer.view(page)
            results.add(page or "home", seconds)
            if error:
                results.errors.append(f"warm-up: {error}")
    return results


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown CPU")
    mem = next((int(line.split()[1]) // 1024 // 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), 0)
    load = os.getloadavg()
    import duckdb
    import streamlit

    return (f"{os.cpu_count()} CPU ({cpu}), {mem} GiB RAM, {platform.system()} {platform.release()}, Python "
            f"{platform.python_version()}, streamlit {streamlit.__version__}, duckdb {duckdb.__version__}; load "
            f"average at start {load[0]:.2f} (the machine is shared)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", type=Path)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--think", type=float, default=1.0, help="Mean seconds a viewer reads a page.")
    parser.add_argument("--pages", default="overview,sla,pipeline,goals,attribution,quality")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--log", type=Path, default=Path("/tmp/accord-load-server.log"))
    args = parser.parse_args()
    if not args.db.is_file():
        parser.error(f"{args.db}: no such database file")
    pages = [p.strip() for p in args.pages.split(",") if p.strip()]
    machine = _machine()
    port = _free_port()
    server = _start_server(args.db, port, args.log)
    sampler = MemorySampler(server.pid)
    sampler.start()
    try:
        time.sleep(1.0)  # a few idle samples of the started server
        sampler.phase = "warm-up"
        warm = asyncio.run(_warm_up(port, pages))
        sampler.phase = "load"
        started = time.perf_counter()
        results = asyncio.run(_load(port, args.sessions, args.seconds, args.think, pages, args.seed))
        wall = time.perf_counter() - started
        sampler.phase = "after"
        time.sleep(5.0)  # sessions closed: what the server keeps once they are gone
    finally:
        sampler.stop()
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()

    every = [t for ts in results.times.values() for t in ts]
    print(f"machine: {machine}")
    print(f"database: {args.db} ({args.db.stat().st_size / 1024 / 1024:,.0f} MiB); {args.sessions} sessions for "
          f"{args.seconds:g} s (think {args.think:g} s, the load took {wall:.1f} s with the last views)")
    print("warm-up (one session, first view of each page, cold caches): "
          + ", ".join(f"{p} {ts[0]:.2f} s" for p, ts in warm.times.items()))
    if warm.errors:
        print("warm-up errors: " + "; ".join(warm.errors))
    print(f"views: {len(every):,} ({len(every) / wall:.1f}/s); errors: {len(results.errors)}")
    if every:
        print(f"page time: p50 {_pct(every, 0.5):.2f} s, p95 {_pct(every, 0.95):.2f} s, max {max(every):.2f} s")
        print("| page | views | p50 (s) | p95 (s) | max (s) |")
        print("|---|---:|---:|---:|---:|")
        for page, ts in results.times.items():
            print(f"| {page} | {len(ts)} | {_pct(ts, 0.5):.2f} | {_pct(ts, 0.95):.2f} | {max(ts):.2f} |")
    before, warmed, during, after = (sampler.of(p) for p in ("before", "warm-up", "load", "after"))
    print(f"server memory (MiB): before {before[-1]:.0f}; after the warm-up {warmed[-1]:.0f}; during the load "
          f"median {statistics.median(during):.0f}, peak {max(during):.0f}; after {after[-1]:.0f} "
          f"({len(during)} samples during)")
    for error in results.errors[:20]:
        print(f"error: {error}")
    return 0 if not results.errors else 1


if __name__ == "__main__":
    sys.exit(main())
