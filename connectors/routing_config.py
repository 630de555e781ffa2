"""The routing policy a run binds into the flow, chosen like the catalog (`SKUFLOW_CATALOG`).

- `online-retail`: the replay's stated rate table and limits (`connectors.replay.retail_routing`).
- anything else: every site of the catalog ships to one zone at the same price (£5 a shipment,
  £0.50 a kg), so routing decides on consolidation, capacity and depletion alone until a real
  rate table is configured.
"""

from __future__ import annotations

from connectors.replay.retail_routing import retail_policy
from state.catalog import Catalog
from state.routing_policy import Lane, RoutingPolicy

ANYWHERE = "ANY"


def routing_policy_for(catalog_name: str, catalog: Catalog) -> RoutingPolicy:
    if catalog_name == "online-retail":
        return retail_policy()
    return RoutingPolicy(
        lanes={(site, ANYWHERE): Lane(5.0, 0.5) for site in sorted(catalog.sites)},
        default_zone=ANYWHERE,
    )
