"""The README stays true for a newcomer: every setting it does not name is one nobody can find."""

from __future__ import annotations

from pathlib import Path

from connectors.settings import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def configuration_section() -> str:
    text = README.read_text(encoding="utf-8")
    return text[
        text.index("## Configuration") : text.index("\n## ", text.index("## Configuration") + 1)
    ]


def test_every_setting_is_named_in_the_readmes_configuration_section() -> None:
    section = configuration_section()
    missing = [
        f"SKUFLOW_{name.upper()}"
        for name in Settings.model_fields
        if f"`SKUFLOW_{name.upper()}`" not in section
    ]
    assert not missing, f"add these to README.md's Configuration table: {', '.join(missing)}"
