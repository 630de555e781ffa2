"""COPY text fields as the ledger writer joins them (real PostgreSQL: tests/integration)."""

from __future__ import annotations

import psycopg
import pytest

from connectors.postgres.copy_text import NULL, escape, join, json_field


def test_plain_values_are_joined_with_tabs_as_they_are() -> None:
    assert join(("RETRO-CLOCK", "LON/A/01/01/1/A", "")) == "RETRO-CLOCK\tLON/A/01/01/1/A\t"


def test_none_is_null_but_a_literal_backslash_n_is_text() -> None:
    assert join((None, "\\N")) == "\\N\t\\\\N"
    assert join((None, "x")) == f"{NULL}\tx"


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("tab\there", "tab\\there"),
        ("new\nline", "new\\nline"),
        ("carriage\rreturn", "carriage\\rreturn"),
        ("back\\slash", "back\\\\slash"),
        ("\\.", "\\\\."),
        ("ünïcødé 🧪", "ünïcødé 🧪"),
    ],
)
def test_special_characters_are_escaped_in_any_field(value: str, field: str) -> None:
    assert join(("RETRO-CLOCK", value, None)) == f"RETRO-CLOCK\t{field}\t{NULL}"


def test_a_nul_is_refused_with_where_it_was_found() -> None:
    with pytest.raises(psycopg.DataError, match="NUL"):
        join(("RETRO-CLOCK", "bad\x00lot"))
    with pytest.raises(psycopg.DataError, match="NUL"):
        escape("\x00")


def test_a_json_documents_backslashes_are_doubled_and_nothing_else_changes() -> None:
    assert json_field('{"m":"a\\"b\\nc"}') == '{"m":"a\\\\"b\\\\nc"}'
    assert json_field('{"sku":"TEAL-KETTLE"}') == '{"sku":"TEAL-KETTLE"}'
