"""The app's pages, in menu order. app.py and the AppTest/browser tiers all read this list, so a new page
is registered once and is tested as soon as it exists."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class PageSpec:
    path: str      # relative to the repo root
    title: str     # the page's st.title starts with this
    icon: str
    url_path: str  # the URL slug in the browser: must equal the file's stem, because until app.py has
                   # run once Streamlit serves pages/ by file name and shows "page not found" otherwise
    needs: str | None = None  # a core.edits right the acting person needs to see it in the menu


PAGE_SPECS: tuple[PageSpec, ...] = (
    PageSpec("pages/overview.py", "Overview", ":material/dashboard:", "overview"),
    PageSpec("pages/goals.py", "Shared goals", ":material/flag:", "goals"),
    PageSpec("pages/sla.py", "SLA compliance", ":material/timer:", "sla"),
    PageSpec("pages/pipeline.py", "Pipeline gaps", ":material/filter_alt:", "pipeline"),
    PageSpec("pages/targets.py", "Team and rep targets", ":material/leaderboard:", "targets"),
    PageSpec("pages/changes.py", "What changed", ":material/compare_arrows:", "changes"),
    PageSpec("pages/digest.py", "Meeting digest", ":material/summarize:", "digest"),
    PageSpec("pages/attribution.py", "Attribution", ":material/explore:", "attribution"),
    PageSpec("pages/quality.py", "Quality-lead definition", ":material/verified:", "quality"),
    PageSpec("pages/import_data.py", "Import data", ":material/upload_file:", "import_data"),
    PageSpec("pages/admin.py", "Admin: who may do what", ":material/admin_panel_settings:", "admin", needs="access"),
)


def available_pages() -> list[PageSpec]:
    """Only pages whose file exists: a page is listed once it works, never as a placeholder."""
    return [p for p in PAGE_SPECS if (ROOT / p.path).exists()]


def pages_for(actor) -> list[PageSpec]:
    """The menu of one person: every page, less those needing a right they lack (the page and the write
    path check the right again; the menu only shows each person what they can do)."""
    from core.edits import may

    return [p for p in available_pages() if p.needs is None or may(actor, p.needs)]
