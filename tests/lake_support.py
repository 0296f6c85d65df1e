"""A throwaway PostgreSQL cluster on loopback for the DuckLake tests, and a fresh lake per test.

The cluster is started by the tests themselves (Debian's postgresql binaries, initdb in a temporary folder, a
free port, trust authentication on 127.0.0.1 only), so the README's test command needs nothing started
beforehand; `.ci/run` only installs the package. ACCORD_TEST_PG (a libpq connection string without dbname)
points the tests at a server of your own instead. Without either the lake tests are skipped, and under CI=true
they fail, as the browser tier does."""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from browser_support import free_port

START_SECONDS = 60


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_owner(argv: list[str], owner: str | None) -> list[str]:
    """PostgreSQL refuses to run as root: as root the cluster belongs to the postgres user."""
    return ["runuser", "-u", owner, "--", *argv] if owner else argv


class Cluster:
    def __init__(self, bin_dir: Path):
        self.owner = "postgres" if os.geteuid() == 0 else None
        self.folder = Path(tempfile.mkdtemp(prefix="accord-pg-"))
        self.port = free_port()
        if self.owner:
            shutil.chown(self.folder, self.owner)
        self.data = self.folder / "data"
        self.bin = bin_dir
        subprocess.run(_as_owner([str(bin_dir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                                  "--no-sync"], self.owner), check=True, capture_output=True)
        # loopback only, the socket in our own folder, no fsync: a test cluster that dies with the test run
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off "
                   "-c max_connections=200")
        subprocess.run(_as_owner([str(bin_dir / "pg_ctl"), "-D", str(self.data), "-o", options, "-l",
                                  str(self.folder / "log"), "-w", "-t", str(START_SECONDS), "start"], self.owner),
                       check=True, capture_output=True)
        self.dsn = f"host=127.0.0.1 port={self.port} user=postgres"

    def stop(self) -> None:
        subprocess.run(_as_owner([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
                                 self.owner), capture_output=True)
        shutil.rmtree(self.folder, ignore_errors=True)


def create_database(dsn: str, name: str) -> None:
    """CREATE DATABASE through psql (it cannot run inside the transaction DuckDB's postgres scanner opens)."""
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", f"{dsn} dbname=postgres", "-c",
                    f'CREATE DATABASE "{name}"'], check=True, capture_output=True, text=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """A libpq connection string (no dbname) of a PostgreSQL server the lake tests may create databases on."""
    given = os.environ.get("ACCORD_TEST_PG")
    if given:
        yield given
        return
    bin_dir = _binaries()
    if bin_dir is None or shutil.which("psql") is None:
        reason = "PostgreSQL is not installed (apt-get install -y postgresql)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"the DuckLake tests cannot run under CI: {reason}")
        pytest.skip(reason)
    started = time.monotonic()
    cluster = Cluster(bin_dir)
    print(f"PostgreSQL test cluster on port {cluster.port} in {time.monotonic() - started:.1f} s")
    yield cluster.dsn
    cluster.stop()


@pytest.fixture
def lake_target(postgres, tmp_path, monkeypatch) -> str:
    """A new, empty DuckLake for this test: its own catalog database, data files under tmp_path; the
    ACCORD_DATA_PATH setting points there."""
    from core.settings import get_settings

    name = f"lake_{uuid.uuid4().hex[:12]}"
    create_database(postgres, name)
    monkeypatch.setenv("ACCORD_DATA_PATH", str(tmp_path / "lake-data"))
    get_settings.cache_clear()
    yield f"ducklake:postgres:{postgres} dbname={name}"
    get_settings.cache_clear()
