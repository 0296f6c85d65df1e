"""Accord against the obvious alternative (issue 13): every page's figures from Accord's core functions and from
a straightforward pandas implementation (bench/pandas_alt.py), side by side in one run, in-process and as whole
processes for the report command. Measured, and the figures checked equal; the ratios are read, not asserted.

    python bench/compare.py [--sizes 50k,1m,10m] [--period 2026-Q3] [--as-of 2026-09-30T12:00] [--repeats 3]
                            [--db 1m=/tmp/d1m.duckdb] [--work-dir /tmp/accord-compare] [--in-place]
                            [--no-whole] [--no-in-process]

1. Equality first: every figure set of both on the 50k database (built with `python -m core demo` when missing),
   asserted equal before anything is timed (counts exactly, fractions to 1e-9 relative).
2. In-process, per figure set: Accord's core function(s) the page calls on a fresh `core.store.open_store(path)`
   connection — first call = cold, median of `repeats` more = warm — against pandas_alt (load + compute, median
   of `repeats`, on a plain duckdb connection opened outside the timing). The outputs of the timed runs are
   compared again at every size ("match").
3. Whole process: `python -m core report` vs `python bench/pandas_alt.py report`, median wall time of `repeats`
   runs each (one untimed run of each first), peak RSS per process; the same with bytecode cached outside the
   repository (PYTHONPYCACHEPREFIX), since this environment sets PYTHONDONTWRITEBYTECODE and so compiles
   Accord's own modules on every start; a bare `python -c pass` for scale; and `python -X importtime -m core
   report` summarised (median of `repeats` runs).

Databases are copied to --work-dir first (`open_store` and the report command apply the schema and write the
meta table, and the shared /tmp files are not ours to modify); --in-place uses them as they are. Before each
size's timing, the run waits (up to --max-wait seconds) while the 1-minute load average is above --max-load.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import duckdb  # noqa: E402
import pandas_alt  # noqa: E402

DEFAULT_DBS = {"50k": "/tmp/d50k.duckdb", "1m": "/tmp/d1m.duckdb", "10m": "/tmp/d10m.duckdb"}
# Figure sets: (page, what Accord calls for it)
SETS: dict[str, tuple[str, str]] = {
    "report": ("Overview / report", "build_report (= headline + report_dict)"),
    "goals": ("Goals", "goals.stage_actuals"),
    "sla": ("SLA", "sla.sla_by(…, 'team')"),
    "pipeline": ("Pipeline", "gaps.funnel_comparison"),
    "attribution": ("Attribution", "attribution.attribution(…, 'campaign')"),
    "quality": ("Quality", "backtest.backtest(in force, page default range)"),
}
WATCHED_IMPORTS = ("streamlit", "altair", "pandas", "numpy", "pyarrow", "duckdb", "pydantic", "pydantic_settings")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- Accord's side -----------------------------------------------------------------------------------------

class Accord:
    """The core functions each page calls for its figure set, and their output as flat comparable figures."""

    def __init__(self, period_text: str, as_of: datetime, stall_days: int):
        from core.periods import parse_period

        self.period, self.as_of, self.stall_days = parse_period(period_text), as_of, stall_days

    def inputs(self, con, name: str) -> dict:
        """What the page has at hand before it asks for the figures (cached page state, not timed)."""
        if name != "quality":
            return {}
        from core import edits
        from core.quality_editor import backtest_bounds, backtest_days

        first = con.execute("SELECT min(created_at) FROM leads").fetchone()[0]
        in_force = edits.in_force_at(edits.in_force_schedule(con, "quality_definition"), self.as_of)
        return {"draft": in_force.body, "bounds": backtest_bounds(backtest_days(first, self.as_of).default)}

    def call(self, con, name: str, inputs: dict):
        p, a = self.period, self.as_of
        if name == "report":
            from core.report import build_report
            return build_report(con, p, a, stall_days=self.stall_days)
        if name == "goals":
            from core.metrics.goals import stage_actuals
            return stage_actuals(con, p, a)
        if name == "sla":
            from core.metrics.sla import sla_by
            return sla_by(con, p, a, "team")
        if name == "pipeline":
            from core.metrics.gaps import funnel_comparison
            return funnel_comparison(con, p, a)
        if name == "attribution":
            from core.metrics.attribution import attribution
            return attribution(con, p, a, "campaign")
        if name == "quality":
            from core.metrics.backtest import backtest
            return backtest(con, inputs["draft"], *inputs["bounds"], a)
        raise ValueError(name)

    @staticmethod
    def flat(name: str, r) -> dict:
        if name == "report":
            from core.report import REPORT_FIELDS
            # the pandas side has no landing estimate: the forecast is compared by its own tests, not here
            return {f"{s}.{f}": r[s][f] for s, fields in REPORT_FIELDS.items() if s != "forecast" for f in fields}
        if name == "goals":
            return {f: getattr(r, f) for f in ("leads", "quality_leads", "accepted", "opportunities", "won")}
        if name == "sla":
            return {f"{row['team']}.{c}": row[c] for row in r.to_dict("records") for c in r.columns if c != "team"}
        if name == "pipeline":
            return {f"{w}.{row['key']}": row[w] for row in r.frame.to_dict("records")
                    for w in ("this", "previous", "year")}
        if name == "attribution":
            out = {}
            for row in r.frame.to_dict("records"):
                figures = {"leads": row["leads"], "quality_leads": row["quality_leads"],
                           "opportunities": row["opportunities_first_touch"],
                           "won_revenue": row["won_revenue_first_touch"]}
                if any(figures.values()):  # campaigns listed for their spend alone have no figure to compare
                    out.update({f"{row['key']}.{k}": v for k, v in figures.items()})
            return out
        if name == "quality":
            side = r.in_force
            return {"range.start": r.start, "range.end": r.end, "leads": r.leads, "quality_leads": side.leads,
                    "opportunities": side.opportunities, "won_leads": side.won_leads, "won_deals": side.won_deals,
                    "won_revenue": side.won_revenue}
        raise ValueError(name)


def pandas_flat(name: str, r) -> dict:
    if name == "report":
        return {f"{s}.{f}": v for s, fields in r.items() if isinstance(fields, dict) and s != "period"
                for f, v in fields.items()}
    if name == "goals":
        return dict(r)
    if name == "sla":
        return {f"{row['team']}.{c}": row[c] for row in r.to_dict("records") for c in r.columns if c != "team"}
    if name == "pipeline":
        return {f"{w}.{k}": v for w, figures in r.items() for k, v in figures.items()}
    if name == "attribution":
        return {f"{row['key']}.{c}": row[c] for row in r.to_dict("records")
                for c in ("leads", "quality_leads", "opportunities", "won_revenue")}
    if name == "quality":
        return {"range.start": r["start"], "range.end": r["end"],
                **{k: v for k, v in r.items() if k not in ("start", "end")}}
    raise ValueError(name)


def _plain(v):
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def differences(accord: dict, alt: dict) -> list[str]:
    """Figures that differ (counts exactly, fractions to 1e-9 relative), each as 'name: accord vs pandas'."""
    out = []
    for key in sorted(set(accord) | set(alt), key=str):
        a, b = _plain(accord.get(key)), _plain(alt.get(key))
        if a is None or b is None or isinstance(a, datetime) or isinstance(a, str):
            same = a == b or (hasattr(b, "to_pydatetime") and a == b.to_pydatetime())
        else:
            same = math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
        if not same:
            out.append(f"{key}: Accord {a!r} vs pandas {b!r}")
    return out


# --- running both ------------------------------------------------------------------------------------------

def run_accord(accord: Accord, path: Path, name: str, repeats: int) -> tuple[float, float, object]:
    from core.store import open_store

    con = open_store(path)
    try:
        inputs = accord.inputs(con, name)
        started = time.perf_counter()
        result = accord.call(con, name, inputs)
        cold = time.perf_counter() - started
        warm = []
        for _ in range(repeats):
            started = time.perf_counter()
            result = accord.call(con, name, inputs)
            warm.append(time.perf_counter() - started)
    finally:
        con.close()
    return cold, statistics.median(warm) if warm else cold, result


def run_pandas(path: Path, name: str, period_text: str, as_of: datetime, stall_days: int,
               repeats: int) -> tuple[float, object]:
    fn = pandas_alt.FIGURE_SETS[name]
    span = pandas_alt.parse_period(period_text)
    kwargs = {"stall_days": stall_days} if name == "report" else {}
    con = duckdb.connect(str(path))
    try:
        times, result = [], None
        for _ in range(repeats):
            result = None  # free the previous run's frames before the next loads its own
            started = time.perf_counter()
            result = fn(con, span, as_of, **kwargs)
            times.append(time.perf_counter() - started)
    finally:
        con.close()
    return statistics.median(times), result


def check_equal(path: Path, accord: Accord, args) -> list[tuple[str, int, list[str]]]:
    """Every figure set of both on one database: (set, figures compared, differences)."""
    out = []
    for name in SETS:
        _, _, a = run_accord(accord, path, name, 0)
        _, b = run_pandas(path, name, args.period, accord.as_of, accord.stall_days, 1)
        fa, fb = Accord.flat(name, a), pandas_flat(name, b)
        out.append((name, len(fa), differences(fa, fb)))
    return out


# --- whole processes ---------------------------------------------------------------------------------------

# Launches one command and reports its wall time and peak RSS. A small interpreter of its own forks the
# command: a child forked from this (large) process would report this process's peak as its own.
_LAUNCHER = """
import os, sys, time
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
elapsed = time.perf_counter() - started
sys.stderr.write(f"\\n@@launcher {elapsed!r} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}\\n")
"""


def wall(cmd: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MiB, standard output) of one process, timed around fork, exec and exit."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        subprocess.run([sys.executable, "-c", _LAUNCHER, *cmd], stdout=out, stderr=err, env=env, cwd=ROOT, check=True)
        out.seek(0)
        err.seek(0)
        text = err.read().decode()
        elapsed, rss_kib, code = text.rsplit("@@launcher ", 1)[1].split()
        if int(code):
            raise RuntimeError(f"{' '.join(cmd)} exited {code}: {text[-2000:]}")
        return float(elapsed), int(rss_kib) / 1024, out.read().decode()


def importtime(cmd: list[str], env: dict | None = None) -> list[tuple[int, str, int, int]]:
    """(depth, module, self µs, cumulative µs) of every import, in the order Python reports them."""
    proc = subprocess.run([cmd[0], "-X", "importtime", *cmd[1:]], capture_output=True, text=True, env=env,
                          cwd=ROOT, check=True)
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative, name = line.removeprefix("import time:").split("|")
        depth = (len(name) - len(name.lstrip()) - 1) // 2
        rows.append((depth, name.strip(), int(self_us), int(cumulative)))
    return rows


def import_summary(runs: list[list[tuple[int, str, int, int]]]) -> tuple[list[tuple[str, float]], dict, float]:
    """Top-level imports by median cumulative ms; for each watched package its median cumulative ms and the
    chain that imported it (None when not imported); the median total import ms."""
    top: dict[str, list[float]] = {}
    watched: dict[str, list[float]] = {}
    chains: dict[str, str] = {}
    totals = []
    for rows in runs:
        totals.append(sum(c for d, _, _, c in rows if d == 0) / 1000)
        for i, (depth, name, _, cumulative) in enumerate(rows):
            if depth == 0:
                top.setdefault(name, []).append(cumulative / 1000)
            if name in WATCHED_IMPORTS:
                watched.setdefault(name, []).append(cumulative / 1000)
                chain, level = [name], depth
                for d, n, _, _ in rows[i + 1:]:  # parents are reported after their children, one level up
                    if d == level - 1:
                        chain.append(n)
                        level = d
                    if level == 0:
                        break
                chains[name] = " ← ".join(chain)
    ranked = sorted(((n, statistics.median(v)) for n, v in top.items()), key=lambda x: -x[1])
    found = {n: (statistics.median(watched[n]), chains[n]) if n in watched else None for n in WATCHED_IMPORTS}
    return ranked, found, statistics.median(totals)


def whole_process(path: Path, args, stall_days: int) -> tuple[list[tuple], list[str]]:
    py = sys.executable
    report_args = ["report", "--db", str(path), "--period", args.period, "--as-of", args.as_of]
    accord_cmd = [py, "-m", "core", *report_args]
    pandas_cmd = [py, str(ROOT / "bench" / "pandas_alt.py"), *report_args, "--stall-days", str(stall_days)]
    cached = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    cached["PYTHONPYCACHEPREFIX"] = str(Path(args.work_dir) / "pycache")
    variants = [
        ("python -m core report", accord_cmd, None),
        ("python bench/pandas_alt.py report", pandas_cmd, None),
        ("python -m core report (bytecode cached)", accord_cmd, cached),
        ("python bench/pandas_alt.py report (bytecode cached)", pandas_cmd, cached),
        ("python -c pass (interpreter alone)", [py, "-c", "pass"], None),
    ]
    outputs = {}
    for label, cmd, env in variants:  # one untimed run each: the file in the OS cache, bytecode written
        outputs[label] = wall(cmd, env)[2]
    times: dict[str, list[tuple[float, float]]] = {label: [] for label, _, _ in variants}
    loads = []
    for _ in range(args.repeats):  # interleaved, so a slow moment of the machine hits both
        loads.append(wait_for_quiet(args.max_load, args.max_wait))
        for label, cmd, env in variants:
            seconds, rss, _ = wall(cmd, env)
            times[label].append((seconds, rss))
    rows = [(label, statistics.median(s for s, _ in times[label]), max(r for _, r in times[label]),
             max(loads)) for label, _, _ in variants]
    a, b = json.loads(outputs[variants[0][0]]), json.loads(outputs[variants[1][0]])
    diffs = differences(Accord.flat("report", a), pandas_flat("report", b))
    return rows, diffs


# --- the run -----------------------------------------------------------------------------------------------

def wait_for_quiet(max_load: float, max_wait: float) -> float:
    waited = 0.0
    while os.getloadavg()[0] > max_load and waited < max_wait:
        if waited == 0:
            log(f"load average {os.getloadavg()[0]:.2f} > {max_load}: waiting (up to {max_wait:.0f} s)")
        time.sleep(10)
        waited += 10
    return os.getloadavg()[0]


def working_copy(source: Path, work_dir: Path, size: str) -> Path:
    target = work_dir / f"{size}.duckdb"
    for suffix in ("", ".wal"):
        src, dst = Path(str(source) + suffix), Path(str(target) + suffix)
        dst.unlink(missing_ok=True)
        if src.exists():
            shutil.copyfile(src, dst)
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50k,1m")
    parser.add_argument("--db", action="append", default=[], metavar="SIZE=PATH", help="override a size's DB path")
    parser.add_argument("--period", default="2026-Q3")
    parser.add_argument("--as-of", dest="as_of", default="2026-09-30T12:00")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sets", default=",".join(SETS), help="figure sets to time (in-process)")
    parser.add_argument("--work-dir", dest="work_dir", default="/tmp/accord-compare")
    parser.add_argument("--in-place", dest="in_place", action="store_true", help="use the DB files, not copies")
    parser.add_argument("--no-whole", dest="whole", action="store_false")
    parser.add_argument("--no-in-process", dest="in_process", action="store_false")
    parser.add_argument("--max-load", dest="max_load", type=float, default=1.5)
    parser.add_argument("--max-wait", dest="max_wait", type=float, default=600)
    args = parser.parse_args()

    from core.periods import parse_as_of
    from core.settings import get_settings

    dbs = dict(DEFAULT_DBS, **dict(item.split("=", 1) for item in args.db))
    sizes = [s.strip().lower() for s in args.sizes.split(",") if s.strip()]
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    work_dir = Path(args.work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    stall_days = get_settings().stall_days
    accord = Accord(args.period, parse_as_of(args.as_of), stall_days)

    # 1. equality on the 50k database, before anything is timed
    check_db = Path(dbs["50k"])
    if not check_db.exists():
        log(f"building {check_db}")
        subprocess.run([sys.executable, "-m", "core", "demo", "--db", str(check_db), "--leads", "50000", "--seed", "7",
                        "--as-of", args.as_of], cwd=ROOT, check=True, capture_output=True)
    check_path = check_db if args.in_place else working_copy(check_db, work_dir, "check-50k")
    log(f"checking every figure set on {check_db}")
    checks = check_equal(check_path, accord, args)
    print(f"## Equality on {check_db} ({args.period}, as of {args.as_of})\n")
    print("| figure set | figures compared | result |\n|---|---:|---|")
    for name, n, diffs in checks:
        print(f"| {SETS[name][0]} | {n} | {'equal' if not diffs else '; '.join(diffs[:5])} |")
    print(flush=True)
    failed = [name for name, _, diffs in checks if diffs]
    assert not failed, f"pandas_alt differs from Accord on {failed}: see the table above"

    in_rows, whole_rows, import_rows, memory = [], [], {}, []
    for size in sizes:
        source = Path(dbs[size])
        if not source.exists():
            log(f"{source} missing: size {size} skipped")
            continue
        path = source if args.in_place else working_copy(source, work_dir, size)
        leads = duckdb.connect(str(path), read_only=True)
        n = leads.execute("SELECT count(*) FROM leads").fetchone()[0]
        leads.close()
        log(f"{size}: {n:,} leads")
        if args.in_process:
            for name in sets:
                load = wait_for_quiet(args.max_load, args.max_wait)
                log(f"{size} {name}: Accord (load average {load:.2f})")
                cold, warm, a = run_accord(accord, path, name, args.repeats)
                after_accord = peak_mib()
                log(f"{size} {name}: pandas")
                alt, b = run_pandas(path, name, args.period, accord.as_of, stall_days, args.repeats)
                diffs = differences(Accord.flat(name, a), pandas_flat(name, b))
                in_rows.append((n, name, cold, warm, alt, "yes" if not diffs else "NO: " + "; ".join(diffs[:3]), load))
                log(f"{size} {name}: Accord cold {cold:.3f} s, warm {warm:.3f} s; pandas {alt:.3f} s")
                memory.append((n, name, after_accord, peak_mib()))
                del a, b
        if args.whole:
            log(f"{size}: whole processes")
            rows, diffs = whole_process(path, args, stall_days)
            whole_rows.extend((n, *row, "yes" if not diffs else "NO: " + "; ".join(diffs[:3])) for row in rows)
            import_rows[n] = import_summary([importtime([sys.executable, "-m", "core", "report", "--db", str(path),
                                                         "--period", args.period, "--as-of", args.as_of])
                                             for _ in range(args.repeats)])
            import_rows[(n, "pandas")] = import_summary([importtime(
                [sys.executable, str(ROOT / "bench" / "pandas_alt.py"), "report", "--db", str(path), "--period",
                 args.period, "--as-of", args.as_of]) for _ in range(args.repeats)])

    # 2. the tables
    host = f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the end"
    print(f"## Accord vs pandas, {args.period}, as of {args.as_of} ({host}; medians of {args.repeats})\n")
    if in_rows:
        print("### In-process, per page's figure set\n")
        print("| leads | page: figure set | Accord calls | Accord cold s | Accord warm s | pandas s (load + compute) "
              "| pandas ÷ Accord warm | pandas ÷ Accord cold | same figures | load avg |")
        print("|---:|---|---|---:|---:|---:|---:|---:|---|---:|")
        for n, name, cold, warm, alt, same, load in in_rows:
            print(f"| {n:,} | {SETS[name][0]} | {SETS[name][1]} | {cold:.3f} | {warm:.3f} | {alt:.3f} "
                  f"| {alt / warm:.1f}× | {alt / cold:.1f}× | {same} | {load:.2f} |")
        print()
    if whole_rows:
        print("### Whole process: the report command\n")
        print("| leads | command | median wall s | peak RSS MiB | ÷ `python -m core report` | same JSON figures "
              "| load avg (max) |")
        print("|---:|---|---:|---:|---:|---|---:|")
        base = {}
        for n, label, seconds, *_ in whole_rows:
            if label.startswith("python -m core report"):
                base[(n, "cached" in label)] = seconds
        for n, label, seconds, rss, load, same in whole_rows:
            ref = base.get((n, "cached" in label))
            ratio = f"{seconds / ref:.1f}×" if ref and "pass" not in label else ""
            print(f"| {n:,} | `{label}` | {seconds:.3f} | {rss:,.0f} | {ratio} | {same if 'pandas' in label else ''} "
                  f"| {load:.2f} |")
        print()
    for key, (ranked, watched, total) in import_rows.items():
        who = "bench/pandas_alt.py report" if isinstance(key, tuple) else "-m core report"
        n = key[0] if isinstance(key, tuple) else key
        print(f"### `python -X importtime {who}` at {n:,} leads: {total:,.0f} ms of imports in all\n")
        print("| top-level import | cumulative ms |\n|---|---:|")
        for name, ms in ranked[:5]:
            print(f"| {name} | {ms:,.1f} |")
        print("\n| package | imported? | cumulative ms | imported by |\n|---|---|---:|---|")
        for name, found in watched.items():
            if found is None:
                print(f"| {name} | no | | |")
            else:
                print(f"| {name} | yes | {found[0]:,.1f} | {found[1]} |")
        print()
    if memory:
        print("### Peak RSS of this process (running maximum: Accord's runs, then pandas's)\n")
        print("| leads | figure set | after Accord MiB | after pandas MiB |\n|---:|---|---:|---:|")
        for n, name, a, b in memory:
            print(f"| {n:,} | {name} | {a:,.0f} | {b:,.0f} |")
        print()
    largest = max((row[3] for row in whole_rows), default=None)
    print(f"Peak RSS of the run: this process (both in-process sides and the equality check) {peak_mib():,.0f} MiB"
          + (f"; the largest measured command {largest:,.0f} MiB." if largest is not None else "."))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
