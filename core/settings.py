"""The one place Accord's settings are declared (environment prefix ACCORD_, optional .env file)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every field here must be documented in the README (a test checks it)."""

    model_config = SettingsConfigDict(env_prefix="ACCORD_", env_file=".env", extra="ignore")

    db_path: Path = Field(
        Path("data/accord.duckdb"),
        description="DuckDB file the app reads and writes; built with demo data on first run if missing.",
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
    max_upload_mb: int = Field(50, ge=1, le=2048, description="Largest file the Import page accepts, in MiB.")
    admins: str = Field(
        "",
        description="Comma-separated e-mails that are admins whatever the access map says (with sign-in configured).",
    )

    @property
    def admin_emails(self) -> frozenset[str]:
        return frozenset(e.strip().lower() for e in self.admins.split(",") if e.strip())


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
