"""A buyer's master file changes the proposals the flow raises: pack, supplier, lead time."""

from __future__ import annotations

from pathlib import Path

from bytewax.testing import TestingSink, run_main

from connectors.inprocess import events_source
from connectors.replenishment_config import replenishment_for
from connectors.settings import Settings
from dataflows.inventory import InventorySinks, build_inventory_flow
from dataflows.replenishment import ReplenishmentTap
from state.demand.proposals import ReorderProposed
from state.replenishment import ReplenishmentConfig
from tests.flows.test_replenishment_flow import catalog, story


def proposals_with(config: ReplenishmentConfig) -> dict[str, ReorderProposed]:
    raised: list[ReorderProposed] = []
    tap = ReplenishmentTap(catalog(), config, [TestingSink(raised)])
    run_main(build_inventory_flow(events_source(story()), InventorySinks(taps=[tap]), catalog()))
    return {proposal.sku: proposal for proposal in raised}


def config_for(master: Path | None) -> ReplenishmentConfig:
    settings = Settings(_env_file=None, replenishment_file=master)
    return replenishment_for(settings, "simulation", catalog()).config


def test_a_pack_of_twelve_in_the_master_file_makes_the_proposal_whole_packs(
    tmp_path: Path,
) -> None:
    master = tmp_path / "master.csv"
    master.write_text(
        "sku,supplier,pack_size,moq,lead_time_days,lead_time_std_days\n"
        "RETRO-CLOCK,CLOCKWORKS-LTD,12,,5,1\n"
    )

    on_defaults = proposals_with(config_for(None))
    from_file = proposals_with(config_for(master))

    clock = from_file["RETRO-CLOCK"]
    assert on_defaults["RETRO-CLOCK"].quantity % 12 != 0  # the pack is what makes it whole
    assert clock.quantity % 12 == 0
    assert clock.quantity >= clock.order_up_to - clock.position
    assert (clock.pack_size, clock.supplier, clock.lead_time_days) == (12, "CLOCKWORKS-LTD", 5.0)
    # a SKU the file does not list stays on the defaults
    kettle = from_file["TEAL-KETTLE"]
    assert (kettle.pack_size, kettle.supplier, kettle.lead_time_days) == (1, "default", 7.0)
