"""The docs' pictures drawn from the code are current, and need no script to view."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def test_the_state_diagram_is_drawn_from_the_current_rules() -> None:
    result = subprocess.run(
        [sys.executable, str(DOCS / "make_state_diagram.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_the_concepts_page_shows_the_drawn_diagram_not_a_script() -> None:
    concepts = (DOCS / "concepts.md").read_text(encoding="utf-8")
    assert "(img/connection-states.svg)" in concepts
    assert "```mermaid" not in concepts
