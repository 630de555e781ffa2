"""The replenishment config a run uses: Settings' defaults, the master file over them per SKU,
ABC/XYZ classes from the file or else from the data, service levels from the class table."""

from __future__ import annotations

import csv
import gzip
import logging
from datetime import date, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from connectors.replay.online_retail import COLUMNS, FILE_NAME
from connectors.replay.retail_classes import classes_from, retail_classes
from connectors.replenishment_config import config_from, replenishment_for
from connectors.replenishment_master import MasterRow
from connectors.settings import Settings
from state.catalog import Catalog, Channel, Sku

CLOCK, KETTLE, BIRDIE = "RETRO-CLOCK", "TEAL-KETTLE", "PAPER-BIRDIE"


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)


def catalog() -> Catalog:
    return Catalog.build(
        skus=[Sku(code) for code in (CLOCK, KETTLE, BIRDIE)],
        locations=["LON/A/01/01/1/PICK"],
        channels=[Channel("web", priority=1)],
    )


def test_without_a_file_every_sku_is_on_the_settings_defaults() -> None:
    config = config_from(
        settings(
            replenishment_review_days=7,
            replenishment_rule="eoq",
            replenishment_allocate_by_cycle=True,
            replenishment_lead_time_demand="lognormal",
            replenishment_lead_time_days=10,
            replenishment_lead_time_std_days=3,
            replenishment_lateness_hours=2,
            replenishment_min_days=28,
            replenishment_supplier="WHOLESALE",
        )
    )

    assert config.supplier(CLOCK) == "WHOLESALE"
    assert config.lead_time_prior(CLOCK) == (10.0, 3.0)
    assert (config.lateness, config.min_days) == (timedelta(hours=2), 28)
    policy, cls = config.policy(CLOCK)
    assert (policy.review_days, policy.rule, cls) == (7.0, "eoq", "BY")
    assert policy.allocate_by_cycle
    assert policy.lead_time_demand == "lognormal"
    assert (policy.pack_size, policy.moq) == (1, 1)


def test_a_file_row_overrides_the_defaults_for_its_sku_only() -> None:
    row = MasterRow(
        sku=CLOCK,
        supplier="ACME",
        pack_size=12,
        moq=24,
        unit_cost=3.5,
        lead_time_days=21,
    )

    config = config_from(settings(replenishment_review_days=7), [row])

    clock, _ = config.policy(CLOCK)
    kettle, _ = config.policy(KETTLE)
    assert (clock.pack_size, clock.moq, clock.unit_cost, clock.review_days) == (12, 24, 3.5, 7.0)
    assert (kettle.pack_size, kettle.moq, kettle.review_days) == (1, 1, 7.0)
    assert (config.supplier(CLOCK), config.supplier(KETTLE)) == ("ACME", "default")
    # a prior given in part keeps the default for the rest
    assert config.lead_time_prior(CLOCK) == (21.0, 2.0)
    assert config.lead_time_prior(KETTLE) == (7.0, 2.0)


def test_a_class_from_the_file_wins_over_the_one_computed_from_the_data() -> None:
    computed = {CLOCK: "CZ", KETTLE: "CZ"}

    config = config_from(settings(), [MasterRow(sku=CLOCK, abc_xyz="AX")], computed)

    assert config.policy(CLOCK)[1] == "AX"
    assert config.policy(KETTLE)[1] == "CZ"
    assert config.policy(BIRDIE)[1] == "BY"  # neither: the default class


def test_the_service_level_follows_the_class_table_with_settings_replacing_entries() -> None:
    rows = [MasterRow(sku=CLOCK, abc_xyz="AX"), MasterRow(sku=KETTLE, abc_xyz="CZ")]

    table = config_from(settings(), rows)
    tuned = config_from(settings(replenishment_service_levels={"AX": 0.995}), rows)

    assert table.policy(CLOCK)[0].service_level == 0.98
    assert table.policy(KETTLE)[0].service_level == 0.90
    assert tuned.policy(CLOCK)[0].service_level == 0.995
    assert tuned.policy(KETTLE)[0].service_level == 0.90


def test_a_skus_own_service_level_wins_over_its_class_and_over_one_level_for_all() -> None:
    rows = [MasterRow(sku=CLOCK, abc_xyz="CZ", service_level=0.99), MasterRow(sku=KETTLE)]

    config = config_from(settings(replenishment_service_level=0.93), rows)

    assert config.policy(CLOCK)[0].service_level == 0.99
    assert config.policy(KETTLE)[0].service_level == 0.93  # class BY would have said 0.95


@pytest.mark.parametrize(
    ("values", "said"),
    [
        ({"replenishment_service_level": 95}, "set it strictly between 0 and 1"),
        ({"replenishment_service_levels": {"AX": 1.2}}, "set it strictly between 0 and 1"),
        ({"replenishment_service_levels": {"AA": 0.9}}, "'AA' is not a class; use AX"),
        ({"replenishment_review_days": 0}, "greater than 0"),
        ({"replenishment_lead_time_days": -1}, "greater than 0"),
        ({"replenishment_class": "DX"}, "should match pattern"),
    ],
)
def test_settings_refuse_values_outside_their_range_saying_what_is_allowed(
    values: dict[str, object], said: str
) -> None:
    with pytest.raises(ValidationError, match=said):
        settings(**values)


def test_the_run_logs_that_it_uses_the_defaults_without_a_file(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="connectors.replenishment_config"):
        loaded = replenishment_for(settings(), "simulation", catalog())

    assert loaded.source.startswith("defaults")
    assert f"replenishment settings: {loaded.source}" in caplog.messages


def test_an_unknown_sku_in_the_file_is_a_warning_naming_it_not_an_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "master.csv"
    path.write_text("sku,pack_size\nRETRO-CLOCK,12\nRETRO-CLOKC,6\n")

    with caplog.at_level(logging.INFO, logger="connectors.replenishment_config"):
        loaded = replenishment_for(settings(replenishment_file=path), "simulation", catalog())

    assert loaded.config.policy(CLOCK)[0].pack_size == 12
    assert f"{path} (2 SKU rows, 1 not in the catalog)" in loaded.source
    assert any("not in the catalog, ignored: RETRO-CLOKC" in m for m in caplog.messages)


# ---- classes computed from the Online Retail data --------------------------------------------


def test_steady_valuable_skus_are_ax_and_rare_cheap_ones_cz() -> None:
    start = date(2011, 1, 3)
    daily = {
        CLOCK: {start + timedelta(days=d): 10.0 for d in range(0, 56)},  # every day
        KETTLE: {start + timedelta(days=d): 10.0 for d in range(0, 56, 2)},  # every other day
        BIRDIE: {start: 1.0, start + timedelta(days=55): 1.0},  # twice in eight weeks
    }
    value = {CLOCK: 5_600.0, KETTLE: 1_000.0, BIRDIE: 2.0}

    assert classes_from(value, daily) == {CLOCK: "AX", KETTLE: "BX", BIRDIE: "CZ"}


def write_retail(data_dir: Path, rows: list[tuple[str, str, int, str, float]]) -> Path:
    """online_retail.csv.gz with the real columns: (invoice, code, quantity, day, price)."""
    data_dir.mkdir(exist_ok=True)
    path = data_dir / FILE_NAME
    with gzip.open(path, "wt", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(COLUMNS)
        for invoice, code, quantity, day, price in rows:
            out.writerow(
                [invoice, code, "A THING", quantity, f"{day} 09:00:00", price, "17850.0", "UK"]
            )
    return path


def test_the_classes_are_computed_from_sales_value_and_cached_while_the_data_is_unchanged(
    tmp_path: Path,
) -> None:
    weeks = [(date(2011, 1, 3) + timedelta(weeks=w)).isoformat() for w in range(8)]
    rows = [("1", "85123A", 50, day, 2.55) for day in weeks]  # steady, valuable
    rows += [("2", "84879", 1, weeks[0], 1.69), ("C3", "85123A", -500, weeks[1], 2.55)]
    path = write_retail(tmp_path / "data", rows)

    first = retail_classes(path, tmp_path / "cache")
    cached = list((tmp_path / "cache" / "classes").glob("*.json"))
    cached[0].write_text('{"85123A": "CZ"}')  # what a second call reads, if it reads the cache

    assert first == {"85123A": "AX", "84879": "CZ"}  # the credit note is no sale
    assert len(cached) == 1
    assert retail_classes(path, tmp_path / "cache") == {"85123A": "CZ"}


def test_the_online_retail_run_computes_classes_and_the_file_overrides_them(
    tmp_path: Path,
) -> None:
    weeks = [(date(2011, 1, 3) + timedelta(weeks=w)).isoformat() for w in range(8)]
    write_retail(tmp_path / "data", [("1", "85123A", 50, day, 2.55) for day in weeks])
    master = tmp_path / "master.csv"
    master.write_text("sku,class\n84879,AY\n")
    retail = Catalog.build(
        skus=[Sku("85123A"), Sku("84879")],
        locations=["LON/A/01/01/1/PICK"],
        channels=[Channel("web")],
    )

    loaded = replenishment_for(
        settings(replenishment_file=master, data_dir=tmp_path / "data", cache_dir=tmp_path),
        "online-retail",
        retail,
    )

    assert loaded.config.policy("85123A")[1] == "AX"
    assert loaded.config.policy("84879")[1] == "AY"
    assert "classes computed from the data for 1 SKUs, 1 given by the file" in loaded.source
