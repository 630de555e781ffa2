"""A buyer's replenishment master file (CSV): read row by row, every problem named by line."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.replenishment_master import MasterFileError, MasterRow, read_master

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "replenishment.example.csv"
HEADER = "sku,supplier,class,pack_size,moq,unit_cost,rule,review_days,service_level"


def write(tmp_path: Path, *lines: str, name: str = "master.csv", bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_text(("\ufeff" if bom else "") + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_buyers_master_file_is_read_with_blank_cells_left_to_the_defaults(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        HEADER + ",description",
        "RETRO-CLOCK,ACME, ax ,12,24,3.5,EOQ,7,0.99,Clock in retro style",
        "TEAL-KETTLE,,,,,,,,,",
        "",
        bom=True,  # Excel writes one
    )

    rows = read_master(path)

    assert rows == (
        MasterRow(
            sku="RETRO-CLOCK",
            supplier="ACME",
            abc_xyz="AX",
            pack_size=12,
            moq=24,
            unit_cost=3.5,
            rule="eoq",
            review_days=7.0,
            service_level=0.99,
        ),
        MasterRow(sku="TEAL-KETTLE"),
    )


def test_only_the_sku_column_is_required(tmp_path: Path) -> None:
    rows = read_master(write(tmp_path, "sku,pack_size,rule", "PAPER-BIRDIE,6,Order-up-to"))

    assert rows == (MasterRow(sku="PAPER-BIRDIE", pack_size=6, rule="order_up_to"),)


def test_a_bad_row_is_refused_naming_the_file_its_line_and_the_field(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER, "RETRO-CLOCK,ACME,AX,12,24,3.5,,,", "TEAL-KETTLE,ACME,,0,,,,,")

    with pytest.raises(MasterFileError) as refused:
        read_master(path)

    message = str(refused.value)
    assert f"{path}, line 3" in message
    assert "field pack_size" in message
    assert "greater than or equal to 1" in message


def test_a_class_outside_abc_xyz_is_refused_by_its_column_name(tmp_path: Path) -> None:
    path = write(tmp_path, "sku,class", "RETRO-CLOCK,AQ")

    with pytest.raises(MasterFileError, match=r"line 2: field class: .*'AQ'"):
        read_master(path)


def test_a_service_level_of_one_is_refused_since_it_would_need_infinite_stock(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "sku,service_level", "RETRO-CLOCK,1")

    with pytest.raises(MasterFileError, match=r"line 2: field service_level: .*0.95 means 95%"):
        read_master(path)


def test_a_file_without_the_sku_column_is_refused_saying_what_is_missing(tmp_path: Path) -> None:
    path = write(tmp_path, "code,supplier,pack_size", "RETRO-CLOCK,ACME,12")

    with pytest.raises(MasterFileError, match="the required column sku is missing"):
        read_master(path)


def test_a_misspelt_column_is_refused_rather_than_ignored(tmp_path: Path) -> None:
    path = write(tmp_path, "sku,servicelevel", "RETRO-CLOCK,0.99")

    with pytest.raises(MasterFileError, match="unknown column 'servicelevel'; the columns are sku"):
        read_master(path)


def test_a_sku_listed_twice_is_refused_naming_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "sku,pack_size", "RETRO-CLOCK,6", "TEAL-KETTLE,1", "RETRO-CLOCK,12")

    with pytest.raises(MasterFileError, match="line 4: SKU 'RETRO-CLOCK' is already on line 2"):
        read_master(path)


def test_ordering_by_eoq_without_a_unit_cost_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "sku,rule", "RETRO-CLOCK,eoq")

    with pytest.raises(MasterFileError, match="line 2: rule eoq needs a unit_cost"):
        read_master(path)


def test_a_missing_file_is_refused_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(MasterFileError, match="SKUFLOW_REPLENISHMENT_FILE"):
        read_master(tmp_path / "nowhere.csv")


def test_the_example_in_deploy_is_a_valid_master_file() -> None:
    rows = read_master(EXAMPLE)

    assert [row.sku for row in rows] == ["85123A", "22423", "85099B", "47566", "84879"]
    assert rows[1].rule == "eoq"
    assert rows[1].service_level == 0.97
