"""The import presets, by name. Each module documents its mapping; docs/importing.md explains them."""
from __future__ import annotations

from core.ingest.presets import accord, hubspot, maven, olist, salesforce, xeducation
from core.ingest.presets.base import Preset

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        accord.PRESET,
        hubspot.PRESET,
        salesforce.PRESET,
        olist.PRESET,
        maven.PRESET,
        xeducation.PRESET,
    )
}
