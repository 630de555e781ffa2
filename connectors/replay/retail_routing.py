"""The routing policy for the Online Retail replay: zones, the rate table and the sites' limits.

The data has no ship-to address finer than its Country and no weights, so this is a stated,
synthetic table (pounds sterling, parcel-carrier-like): each Country maps to a zone, each
(site, zone) lane has a price per shipment and per kilogram, and every unit weighs 0.25 kg. LON
is a little cheaper than MAN to the UK (most of the UK lives nearer London); RTM is cheapest to
western, central and northern Europe, BCN to southern Europe, the Middle East and Africa.

| zone      | countries                                                                 |
|-----------|---------------------------------------------------------------------------|
| UK        | United Kingdom, Channel Islands                                           |
| IE        | EIRE                                                                      |
| EU-WEST   | France, Belgium, Netherlands, Germany, Switzerland, Austria, European Community |
| EU-NORTH  | Denmark, Norway, Sweden, Finland, Iceland                                 |
| EU-CENTRAL| Poland, Czech Republic, Lithuania                                         |
| EU-SOUTH  | Spain, Portugal, Italy, Malta, Greece, Cyprus                             |
| MEA       | Israel, Lebanon, Saudi Arabia, United Arab Emirates, Bahrain, RSA         |
| AMERICAS  | USA, Canada, Brazil                                                       |
| ROW       | everything else (Australia, Japan, Singapore, Hong Kong, Unspecified, ...) |

`RATES` below is the table (per shipment £, per kg £) that the benchmark prints with its results.
"""

from __future__ import annotations

from collections.abc import Mapping

from state.routing_policy import Lane, RoutingPolicy

SITES = ("LON", "MAN", "RTM", "BCN")
ZONE_COUNTRIES: Mapping[str, tuple[str, ...]] = {
    "UK": ("United Kingdom", "Channel Islands"),
    "IE": ("EIRE",),
    "EU-WEST": (
        "France",
        "Belgium",
        "Netherlands",
        "Germany",
        "Switzerland",
        "Austria",
        "European Community",
    ),
    "EU-NORTH": ("Denmark", "Norway", "Sweden", "Finland", "Iceland"),
    "EU-CENTRAL": ("Poland", "Czech Republic", "Lithuania"),
    "EU-SOUTH": ("Spain", "Portugal", "Italy", "Malta", "Greece", "Cyprus"),
    "MEA": ("Israel", "Lebanon", "Saudi Arabia", "United Arab Emirates", "Bahrain", "RSA"),
    "AMERICAS": ("USA", "Canada", "Brazil"),
}
ZONES: Mapping[str, str] = {
    country: zone for zone, countries in ZONE_COUNTRIES.items() for country in countries
}
DEFAULT_ZONE = "ROW"
# zone -> per site (LON, MAN, RTM, BCN): (£ per shipment, £ per kg)
RATES: Mapping[str, tuple[tuple[float, float], ...]] = {
    "UK": ((4.20, 0.30), (4.60, 0.32), (14.00, 0.70), (18.00, 0.90)),
    "IE": ((9.00, 0.55), (7.50, 0.45), (13.00, 0.70), (17.00, 0.90)),
    "EU-WEST": ((12.00, 0.70), (13.00, 0.75), (6.00, 0.35), (10.00, 0.55)),
    "EU-NORTH": ((15.00, 0.85), (15.00, 0.85), (9.00, 0.50), (16.00, 0.95)),
    "EU-CENTRAL": ((16.00, 0.90), (17.00, 0.95), (9.50, 0.55), (14.00, 0.80)),
    "EU-SOUTH": ((15.00, 0.90), (16.00, 0.95), (10.00, 0.60), (5.50, 0.35)),
    "MEA": ((26.00, 1.60), (27.00, 1.65), (23.00, 1.45), (17.00, 1.10)),
    "AMERICAS": ((30.00, 2.00), (31.00, 2.05), (33.00, 2.10), (34.00, 2.15)),
    "ROW": ((36.00, 2.40), (37.00, 2.45), (35.00, 2.35), (37.00, 2.45)),
}
CAPACITY_PER_DAY: Mapping[str, int] = {"LON": 12_000, "MAN": 10_000, "RTM": 4_000, "BCN": 2_000}
LEAD_TIME_DAYS = 7.0
UNIT_WEIGHT_KG = 0.25


def lanes() -> dict[tuple[str, str], Lane]:
    return {
        (site, zone): Lane(per_shipment, per_kg)
        for zone, rates in RATES.items()
        for site, (per_shipment, per_kg) in zip(SITES, rates, strict=True)
    }


def retail_policy(**overrides: object) -> RoutingPolicy:
    """The replay's policy: the table above, a £5 split penalty, £1 a unit beyond a site's daily
    capacity, £0.50 a unit taken that the site needs before its 7-day lead time, £20 a unit
    unfilled; `overrides` replace any of `RoutingPolicy`'s fields."""
    fields: dict[str, object] = {
        "lanes": lanes(),
        "zones": ZONES,
        "default_zone": DEFAULT_ZONE,
        "unit_weight_kg": UNIT_WEIGHT_KG,
        "split_penalty": 5.0,
        "capacity": CAPACITY_PER_DAY,
        "overflow_cost": 1.0,
        "default_lead_time_days": LEAD_TIME_DAYS,
        "depletion_cost": 0.5,
        "unfilled_cost": 20.0,
        "tier_ranks": {"gold": 0, "silver": 1, "standard": 2},
    }
    fields.update(overrides)
    return RoutingPolicy(**fields)  # type: ignore[arg-type]


def rate_table_markdown() -> str:
    """The rate table as Markdown: one row per zone, `£fixed + £/kg` per site."""
    head = "| zone | " + " | ".join(SITES) + " |\n|---|" + "---|" * len(SITES) + "\n"
    rows = [
        f"| {zone} | "
        + " | ".join(f"£{fixed:.2f} + £{per_kg:.2f}/kg" for fixed, per_kg in rates)
        + " |"
        for zone, rates in RATES.items()
    ]
    return head + "\n".join(rows) + "\n"
