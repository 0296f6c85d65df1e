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
    url_path: str  # the URL slug in the browser


PAGE_SPECS: tuple[PageSpec, ...] = (
    PageSpec("pages/overview.py", "Overview", "📊", "overview"),
    PageSpec("pages/goals.py", "Shared goals", "🎯", "goals"),
    PageSpec("pages/sla.py", "SLA compliance", "⏱️", "sla"),
    PageSpec("pages/pipeline.py", "Pipeline gaps", "🚰", "pipeline"),
    PageSpec("pages/attribution.py", "Attribution", "🧭", "attribution"),
    PageSpec("pages/quality.py", "Quality-lead definition", "✅", "quality"),
    PageSpec("pages/import_data.py", "Import data", "📥", "import"),
)


def available_pages() -> list[PageSpec]:
    """Only pages whose file exists: a page is listed once it works, never as a placeholder."""
    return [p for p in PAGE_SPECS if (ROOT / p.path).exists()]
