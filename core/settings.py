"""The one place Accord's settings are declared (environment prefix ACCORD_, optional .env file)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every field here must be documented in the README (a test checks it)."""

    model_config = SettingsConfigDict(env_prefix="ACCORD_", env_file=".env", extra="ignore")

    db_path: str = Field(
        "data/accord.duckdb",
        description="DuckDB file the app reads and writes; at the default path only (or with ACCORD_DEMO_IF_MISSING) "
                    "the app builds the demo there when it is missing, so a mistyped path is reported, not filled. "
                    "Or `ducklake:postgres:<libpq connection string>` for a DuckLake shared by several processes "
                    "(with ACCORD_DATA_PATH).",
    )
    data_path: str = Field(
        "",
        description="Where a DuckLake database (ACCORD_DB_PATH = ducklake:postgres:<connection string>) keeps its "
                    "data files: a folder every app process and importer can reach, or an object-store prefix. "
                    "Needed when the lake is created; an existing lake remembers its own.",
    )
    demo_if_missing: bool = Field(
        False,
        description="Let the app build the demo database at a non-default ACCORD_DB_PATH that does not exist yet.",
    )
    lock_wait_seconds: float = Field(
        30.0, ge=0, le=3600,
        description="How long the app and the command line wait for the database file while another process "
                    "works on it (an import, a report, the app) before saying it is busy.",
    )
    idle_close_seconds: float = Field(
        0.5, ge=0, le=3600,
        description="The app closes the database file after this many seconds without work, so imports and "
                    "reports run while it serves; it reopens the file at the next interaction.",
    )
    app_memory_mb: int = Field(
        1024, ge=128, le=1_048_576,
        description="Memory, in MiB, DuckDB may use in the app process for its caches and queries (SET memory_limit); "
                    "beyond it DuckDB evicts cached blocks or spills to disk. DuckDB's own default is 80% of the "
                    "machine's memory, which let a server on ten million leads grow to 2.7 GiB.",
    )
    min_free_mb: int = Field(
        64, ge=0, le=1_048_576,
        description="Free disk space, in MiB, an import must leave beyond its estimate (4 × the files' size); "
                    "below that the import is refused before it writes.",
    )
    demo_leads: int = Field(
        50_000, ge=100, le=20_000_000, description="Leads the app's first-run demo database is built with."
    )
    demo_seed: int = Field(7, description="Random seed of the first-run demo database (same seed, same data).")
    stall_days: int = Field(
        30, ge=1, le=365,
        description="Days in one stage after which an open deal counts as stalled, for every stage the stall "
                    "rules (Pipeline page) leave unset.",
    )
    joint_signoff: bool = Field(
        True,
        description="A quality-lead definition change proposed by one team takes effect only when the other approves.",
    )
    max_upload_mb: int = Field(
        50, ge=1, le=2048,
        description="Largest file one import accepts, in MiB: the Import page (its label and its uploader) and "
                    "`python -m core import` read this one limit. The web server refuses uploads above "
                    "server.maxUploadSize (.streamlit/config.toml, 50) whatever this says, so raise both together.",
    )
    max_import_rows: int = Field(
        5_000_000, ge=1, le=1_000_000_000,
        description="Most data rows one import may hold, over all its files; a larger import is refused whole.",
    )
    max_columns: int = Field(
        1_000, ge=1, le=100_000,
        description="Most columns a file's header may name; counted on the first line before the file is parsed.",
    )
    max_cell_chars: int = Field(
        32_767, ge=16, le=100_000_000,
        description="Longest value one cell may hold, in characters (Excel's own cell limit by default); a row with "
                    "a longer value is quarantined, a header with one is refused.",
    )
    admins: str = Field(
        "",
        description="Comma-separated e-mails that are admins whatever the access map says (with sign-in configured).",
    )

    @field_validator("db_path", mode="before")
    @classmethod
    def _path_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, Path) else value  # a Path is welcome; a lake target is text

    @property
    def admin_emails(self) -> frozenset[str]:
        return frozenset(e.strip().lower() for e in self.admins.split(",") if e.strip())


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
