"""Replay of UCI Online Retail (a UK retailer, 2010-12-01 to 2011-12-09) as skuflow events.

`replay(path)` streams the events of `online_retail.csv.gz` (found by `data_file`) in event-time
order, but for one exception: a receipt, stamped a second before its order, may follow another
order placed in the same minute. `build_catalog(path)` is the catalog the events need. The file
is read twice: one cheap first pass (`survey`) for each SKU's demand and where each invoice ends,
then the streaming pass. Deterministic: the same file gives the same events with the same ids, so
a restarted replay is idempotent downstream. The whole year (541,909 rows, 1,215,171 events)
takes 11-16 s on a shared two-core machine, about 3 s of it the first pass. Rules:

- **Sites.** Four synthesised warehouses: LON (London), MAN (Manchester), RTM (Rotterdam,
  continental EU), BCN (Barcelona, southern Europe and the Middle East/Africa). Each has a
  receiving dock `SITE/RCV/00/00/0/DOCK` in the non-sellable zone `SITE/RCV` and a pick bin
  `SITE/A/01/01/1/PICK`. Each order is fulfilled from its country's site (`COUNTRY_SITES`):
  United Kingdom → LON or MAN by a stable hash (CRC-32) of the CustomerID, a blank customer →
  LON; EIRE and Channel Islands → MAN; Spain, Portugal, Italy, Malta, Greece, Cyprus, Israel,
  Lebanon, Saudi Arabia, United Arab Emirates, Bahrain, RSA, Brazil → BCN; every other European
  country → RTM; everything else (USA, Canada, Australia, Japan, Singapore, Hong Kong,
  Unspecified, European Community, any country not listed) → LON.
- **Products.** A StockCode whose first five characters are digits is a product (85123A). Any
  other row (POST, DOT, M, C2, BANK CHARGES, AMAZONFEE, CRUK, PADS, gift_0001_10, DCGS..., S, D,
  B, m) is filtered with the reason "non-product code <code>". Rows with quantity 0, a positive
  quantity on a credit note, or a field that cannot be read (quantity, date, customer; a missing
  invoice, stock code or country) are filtered with their reason too. A bad row never raises.
  StockCodes are kept exactly as written.
- **Catalog.** Every product StockCode is a `Sku` (base unit "each", no lot tracking). Channels:
  `web` (priority 1, shortfall backorder) for invoices with a CustomerID, `guest` (priority 2,
  shortfall backorder) for those without. Each site's RCV zone is non-sellable.
- **Time.** InvoiceDate is UK local time, made aware with zoneinfo "Europe/London": that is the
  event's `occurred_at`. An invoice's time is its first row's (a few invoices run into the next
  minute). `source` is "online-retail".
- **Orders.** Each invoice not starting with C becomes one `OrderPlaced`: order_id = invoice
  number, event_id `or-order-<invoice>`, channel web/guest (priority = the channel's),
  customer_tier "standard", customer_id = the CustomerID (None when blank), ship_to region =
  Country and postal_code "unknown", one line per StockCode with the quantities summed (so the
  data's exact duplicate rows are summed into their line, not dropped), each line's `site` = the
  country's site. An invoice's rows are contiguous in the file but for one (542806 is
  interrupted by C542805): the first pass knows each invoice's last row, so an invoice is
  emitted whole, in the order of its first row.
- **Stock is never fictional.** The replay keeps its own projection of available units per
  (SKU, site) at the pick bin. Before an order, for each line whose quantity exceeds the
  projection at its site, it emits a `ReceiptPosted` at that site's dock (event_id
  `or-receipt-<sku>-<site>-<n>`, n from 1) of max(shortfall, batch) units, then a `PutAway` of
  the same units from the dock to the pick bin (`or-putaway-<sku>-<site>-<n>`), two seconds and
  one second before the order (distinct times: on Kafka they travel on different topics); batch
  = ceil(14 days × the SKU's average daily demand over the whole file), at least 1. So every
  order line can be allocated in full at its site.
- **Picking.** Each order line is `Picked` at its site's pick bin (`or-pick-<invoice>-<sku>`)
  `PICK_DELAY` (2 hours) after the order, then `Shipped` (`or-ship-<invoice>-<sku>`) at the same
  time, right after the pick. Pending picks wait in a heap and are emitted in event-time order
  between later invoices (before an invoice at time t, every pick due before t); those still
  pending at the end are flushed.
- **Cancellations.** A row of a C invoice is matched to the same customer's most recent earlier
  order holding that StockCode (blank customers are never matched). If that line is not yet
  picked (the credit note is at most `PICK_DELAY` after the order) and the credited quantity
  covers the whole line, it emits `OrderCancelled(order_id=<that invoice>, skus=(sku,),
  reason="credit note <Cinvoice>")` (`or-cancel-<Cinvoice>-<sku>`) and drops the pending pick
  and ship; a cancelled line is not matched again. Otherwise (already picked, partial, or no
  match) the row is a return: `StockAdjusted(reason="returned", bucket="available")` at the pick
  bin of the matched order's site, else of the country's site (`or-return-<Cinvoice>-<sku>-<n>`).
- **Adjustments.** Other negative rows (no C prefix) remove stock at the pick bin of the
  country's site (LON for blank customers and unlisted countries), the reason read from the
  Description by keywords, first match wins: damage/wet/mould/crush/smash/broken/faulty →
  "damaged"; thrown/discard/dispose/destroy → "scrapped"; expired → "expired"; otherwise "lost".
  event_id `or-adjust-<invoice>-<row>`, row = the data row's number (1 = the first after the
  header). Only what the projection holds can be removed: the adjustment is capped at it and the
  remainder counted as `adjustment_beyond_stock` units; when nothing is held no event is emitted
  and the row is filtered as "adjustment beyond stock".
- **Projection.** An order takes its lines' units, a cancellation gives the line back, a return
  adds, an adjustment removes; picks take allocated units, so they leave it unchanged.
- **Stats.** `ReplayStats` is filled as the iterator runs: rows read, rows used, rows filtered
  by reason (rows read = rows used + rows filtered), events by type, cancellations vs returns,
  receipts synthesised and their units, rows summed into a line, units credited beyond a
  cancelled line, units of adjustments beyond stock.
- **limit_rows** stops after that many data rows, but first finishes the invoices in progress,
  so no order is cut short: a limited run's events are the full run's, up to the picks it
  flushes at the end.
"""

from __future__ import annotations

import csv
import gzip
import heapq
import zlib
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from state.catalog import Catalog, Channel, Sku
from state.events import (
    AdjustmentReason,
    Event,
    OrderCancelled,
    OrderLine,
    OrderPlaced,
    Picked,
    PutAway,
    ReceiptLine,
    ReceiptPosted,
    Shipped,
    ShipTo,
    StockAdjusted,
)

FILE_NAME = "online_retail.csv.gz"
COLUMNS = (
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
)
SOURCE = "online-retail"
UK_TIME = ZoneInfo("Europe/London")
PICK_DELAY = timedelta(hours=2)
RECEIPT_LEAD = timedelta(seconds=2)  # receipts land just before the order that needs them
# ...and are put away a second later: distinct times, because the receipt and the put-away travel
# on different topics, and a merge by event time would order a tie by topic name, not by cause.
PUTAWAY_AFTER = timedelta(seconds=1)
BATCH_DAYS = 14
SITES = ("LON", "MAN", "RTM", "BCN")
DEFAULT_SITES = ("LON",)
# Country → the sites that serve it; with two, a stable hash of the customer picks one.
COUNTRY_SITES: Mapping[str, tuple[str, ...]] = {
    "United Kingdom": ("LON", "MAN"),
    **dict.fromkeys(("EIRE", "Channel Islands"), ("MAN",)),
    **dict.fromkeys(
        (
            "Spain",
            "Portugal",
            "Italy",
            "Malta",
            "Greece",
            "Cyprus",
            "Israel",
            "Lebanon",
            "Saudi Arabia",
            "United Arab Emirates",
            "Bahrain",
            "RSA",
            "Brazil",
        ),
        ("BCN",),
    ),
    **dict.fromkeys(
        (
            "Austria",
            "Belgium",
            "Czech Republic",
            "Denmark",
            "Finland",
            "France",
            "Germany",
            "Iceland",
            "Lithuania",
            "Netherlands",
            "Norway",
            "Poland",
            "Sweden",
            "Switzerland",
        ),
        ("RTM",),
    ),
    # Everything else (USA, Canada, Australia, Japan, ..., Unspecified, European Community).
}
ADJUSTMENT_KEYWORDS: tuple[tuple[AdjustmentReason, tuple[str, ...]], ...] = (
    ("damaged", ("damage", "wet", "mould", "crush", "smash", "broken", "faulty")),
    ("scrapped", ("thrown", "discard", "dispose", "destroy")),
    ("expired", ("expired",)),
)
CHANNELS = (
    Channel("web", priority=1, shortfall="backorder"),  # invoices with a CustomerID
    Channel("guest", priority=2, shortfall="backorder"),  # invoices without one
)
BEYOND_STOCK = "adjustment beyond stock"


def dock(site: str) -> str:
    """The receiving dock: stock there is on hand but not available to promise."""
    return f"{site}/RCV/00/00/0/DOCK"


def pick_bin(site: str) -> str:
    return f"{site}/A/01/01/1/PICK"


def site_for(country: str, customer: str | None) -> str:
    """The site that serves a country; the UK is split between LON and MAN by customer."""
    sites = COUNTRY_SITES.get(country, DEFAULT_SITES)
    if customer is None or len(sites) == 1:
        return sites[0]
    return sites[zlib.crc32(customer.encode()) % len(sites)]


def adjustment_reason(description: str) -> AdjustmentReason:
    """Why stock was written off, read from the row's Description; "lost" when it does not say."""
    text = description.lower()
    for reason, keywords in ADJUSTMENT_KEYWORDS:
        if any(keyword in text for keyword in keywords):
            return reason
    return "lost"


def is_product(code: str) -> bool:
    return len(code) >= 5 and code[:5].isdigit()


def data_file(data_dir: Path) -> Path:
    """The data set's path in `data_dir`; raises FileNotFoundError saying where it looked."""
    path = data_dir / FILE_NAME
    if not path.is_file():
        msg = (
            f"{FILE_NAME} not found: looked for {path.resolve()}. "
            "SKUFLOW_DATA_DIR sets the folder that holds it (see the README's Data section)."
        )
        raise FileNotFoundError(msg)
    return path


# ---- reading --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    """One usable row: a product code, a non-zero quantity, an aware time."""

    number: int  # 1 = the first data row
    invoice: str
    sku: str
    description: str
    quantity: int
    at: datetime
    customer: str | None
    country: str

    @property
    def is_credit(self) -> bool:
        return self.invoice.startswith("C")


def data_rows(path: Path) -> Iterator[list[str]]:
    """The file's data rows as fields, after checking its header (a csv error raises)."""
    with gzip.open(path, "rt", encoding="utf-8", errors="replace", newline="") as handle:
        yield from _checked(path, csv.reader(handle))


def _checked(path: Path, reader: Iterator[list[str]]) -> Iterator[list[str]]:
    """`reader` past its header, which must be the Online Retail columns."""
    header = next(reader, None)
    if header is None or tuple(header) != COLUMNS:
        msg = f"{path}: expected the columns {','.join(COLUMNS)}, got {header}"
        raise ValueError(msg)
    return reader


def _records(path: Path) -> Iterator[tuple[int, list[str] | None]]:
    """(data row number, fields) for each record; None when the csv reader cannot read one."""
    with gzip.open(path, "rt", encoding="utf-8", errors="replace", newline="") as handle:
        reader = _checked(path, csv.reader(handle))
        number = 0
        while True:
            number += 1
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error:
                yield number, None
                continue
            yield number, fields


class _RowParser:
    """Turns fields into a `Row`, or into the reason the row is filtered. Caches parsed times."""

    def __init__(self) -> None:
        self._times: dict[str, datetime | None] = {}

    def __call__(self, number: int, fields: list[str] | None) -> Row | str:
        if fields is None or len(fields) != len(COLUMNS):
            return "malformed row"
        invoice, code, description, quantity, when, _, customer, country = fields
        invoice, code, country = invoice.strip(), code.strip(), country.strip()
        if problem := _identity_problem(invoice, code, country):
            return problem
        amount = _quantity(quantity, is_credit=invoice.startswith("C"))
        if isinstance(amount, str):
            return amount
        if (at := self._time(when)) is None:
            return "unparsable date"
        if (buyer := _customer(customer)) == "":
            return "unparsable customer"
        return Row(number, invoice, code, description.strip(), amount, at, buyer, country)

    def _time(self, text: str) -> datetime | None:
        if text not in self._times:
            try:
                self._times[text] = datetime.fromisoformat(text.strip()).replace(tzinfo=UK_TIME)
            except ValueError:
                self._times[text] = None
        return self._times[text]


def _identity_problem(invoice: str, code: str, country: str) -> str | None:
    if not code:
        return "missing stock code"
    if not is_product(code):
        return f"non-product code {code}"
    if not invoice:
        return "missing invoice"
    return None if country else "missing country"


def _quantity(text: str, *, is_credit: bool) -> int | str:
    """The quantity, or why the row is filtered: unreadable, zero, or positive on a credit note."""
    try:
        amount = int(text.strip())
    except ValueError:
        return "unparsable quantity"
    if amount == 0:
        return "zero quantity"
    return "positive quantity on a credit note" if amount > 0 and is_credit else amount


def _customer(text: str) -> str | None:
    """The CustomerID as digits ("17850.0" → "17850"); None when blank, "" when unreadable."""
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        return ""
    return str(int(value)) if value.is_integer() and value > 0 else ""


def _rows(path: Path) -> Iterator[tuple[int, Row | str]]:
    """(data row number, the row or why it is filtered) for every record of the file."""
    parse = _RowParser()
    for number, fields in _records(path):
        yield number, parse(number, fields)


# ---- first pass -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Survey:
    """What the first pass learns: SKUs, units ordered per SKU, the span in days, invoice ends."""

    skus: tuple[str, ...]
    demand: Mapping[str, int]
    days: int
    last_row: Mapping[str, int]  # invoice → the number of its last usable row

    def batch(self, sku: str) -> int:
        """Units a receipt brings at least: ceil(BATCH_DAYS × units ordered / days), ≥ 1."""
        return max(1, -(-BATCH_DAYS * self.demand.get(sku, 0) // self.days))


def survey(path: Path) -> Survey:
    """The first pass over the file (cached while the file is unchanged)."""
    status = path.stat()
    return _survey(path.resolve(), status.st_size, status.st_mtime_ns)


@lru_cache(maxsize=4)
def _survey(path: Path, size: int, mtime_ns: int) -> Survey:
    skus: set[str] = set()
    demand: Counter[str] = Counter()
    last_row: dict[str, int] = {}
    first: date | None = None
    last: date | None = None
    for _, row in _rows(path):
        if isinstance(row, str):
            continue
        skus.add(row.sku)
        last_row[row.invoice] = row.number
        if row.quantity > 0 and not row.is_credit:
            demand[row.sku] += row.quantity
        day = row.at.date()
        first = day if first is None else min(first, day)
        last = day if last is None else max(last, day)
    days = 1 if first is None or last is None else (last - first).days + 1
    return Survey(tuple(sorted(skus)), dict(demand), days, last_row)


def catalog_for(skus: tuple[str, ...]) -> Catalog:
    """The four sites' docks and pick bins, the web and guest channels, and these SKUs."""
    return Catalog.build(
        skus=[Sku(code) for code in skus],
        locations=[path for site in SITES for path in (dock(site), pick_bin(site))],
        channels=CHANNELS,
        non_sellable_zones=[f"{site}/RCV" for site in SITES],
    )


# Bump when `build_catalog` would make a different catalog from the same file: cached catalogs
# (`connectors.catalog_cache`, keyed by it and by the file's size and mtime) are then rebuilt.
CATALOG_VERSION = 1


def build_catalog(path: Path) -> Catalog:
    """Every product StockCode of the file as a SKU, at the four synthesised sites."""
    return catalog_for(survey(path).skus)


# ---- the replay -----------------------------------------------------------------------------


@dataclass
class ReplayStats:
    """Filled as `replay` runs. Invariant: rows_read = rows_used + sum(filtered.values())."""

    rows_read: int = 0
    rows_used: int = 0
    filtered: Counter[str] = field(default_factory=Counter)  # reason → rows
    events: Counter[str] = field(default_factory=Counter)  # event type → events
    cancellations: int = 0  # credit rows that cancelled an unpicked line
    returns: int = 0  # credit rows that put stock back
    receipts: int = 0  # receipts synthesised so orders never meet fictional stock
    units_received: int = 0
    rows_summed: int = 0  # order rows added to a line of the same StockCode (duplicates)
    cancelled_beyond_line: int = 0  # units credited beyond the line a credit note cancelled
    adjustment_beyond_stock: int = 0  # units an adjustment could not remove


def _invoices(
    path: Path, plan: Survey, limit_rows: int | None, stats: ReplayStats
) -> Iterator[list[Row]]:
    """Each invoice's usable rows, whole, in the order of its first row.

    Open invoices wait until the first pass's last row of the invoice has been read, so an
    invoice interrupted by another is still emitted whole (and after it is complete).
    """
    waiting: dict[str, list[Row]] = {}  # insertion order = order of first rows
    for number, parsed in _rows(path):
        if limit_rows is not None and number > limit_rows:
            if not waiting:
                break
            if isinstance(parsed, str) or parsed.invoice not in waiting:
                continue  # past the limit, only the invoices in progress are finished
        stats.rows_read += 1
        if isinstance(parsed, str):
            stats.filtered[parsed] += 1
            continue
        waiting.setdefault(parsed.invoice, []).append(parsed)
        while waiting:
            first = next(iter(waiting))
            if plan.last_row.get(first, 0) > number:
                break
            yield waiting.pop(first)
    yield from waiting.values()  # only if the file grew since the first pass


@dataclass(frozen=True, slots=True)
class _OrderedLine:
    invoice: str
    sku: str
    site: str
    quantity: int


class _Replayer:
    """The replay's own bookkeeping: projected stock, pending picks, orders open to credit notes."""

    def __init__(self, plan: Survey, stats: ReplayStats) -> None:
        self.plan = plan
        self.stats = stats
        self.available: Counter[tuple[str, str]] = Counter()  # (sku, site) → units at the bin
        self.receipt_numbers: Counter[tuple[str, str]] = Counter()
        self.return_numbers: Counter[tuple[str, str]] = Counter()
        self.due: list[tuple[datetime, int, str, str]] = []  # heap of (due, seq, invoice, sku)
        self.unpicked: dict[tuple[str, str], _OrderedLine] = {}  # (invoice, sku) → line
        self.by_customer: dict[tuple[str, str], list[_OrderedLine]] = {}  # (customer, sku)
        self.sequence = 0

    def invoice(self, rows: list[Row]) -> Iterator[Event]:
        """The events of one invoice, after the picks that fall due before it."""
        yield from self.picks_due(before=rows[0].at)
        if rows[0].is_credit:
            for row in rows:
                yield from self.credit(row)
            return
        ordered = [row for row in rows if row.quantity > 0]
        if ordered:
            yield from self.order(ordered)
        for row in rows:
            if row.quantity < 0:
                yield from self.adjustment(row)

    def picks_due(self, before: datetime | None = None) -> Iterator[Event]:
        """Pick and ship each pending line due before `before` (all of them when None)."""
        while self.due and (before is None or self.due[0][0] < before):
            at, _, invoice, sku = heapq.heappop(self.due)
            line = self.unpicked.pop((invoice, sku), None)
            if line is None:
                continue  # cancelled before its pick
            yield Picked(
                event_id=f"or-pick-{invoice}-{sku}",
                occurred_at=at,
                source=SOURCE,
                order_id=invoice,
                sku=sku,
                quantity=line.quantity,
                location=pick_bin(line.site),
            )
            yield Shipped(
                event_id=f"or-ship-{invoice}-{sku}",
                occurred_at=at,
                source=SOURCE,
                order_id=invoice,
                sku=sku,
                quantity=line.quantity,
            )

    def order(self, rows: list[Row]) -> Iterator[Event]:
        """Receipts for what the site lacks, then the order; its lines wait to be picked."""
        first = rows[0]
        site = site_for(first.country, first.customer)
        quantities: Counter[str] = Counter()
        for row in rows:
            quantities[row.sku] += row.quantity
        self.stats.rows_summed += len(rows) - len(quantities)
        self.stats.rows_used += len(rows)
        for sku, quantity in quantities.items():
            yield from self.restock(sku, site, quantity, first.at - RECEIPT_LEAD)
        channel = CHANNELS[0] if first.customer is not None else CHANNELS[1]
        yield OrderPlaced(
            event_id=f"or-order-{first.invoice}",
            occurred_at=first.at,
            source=SOURCE,
            order_id=first.invoice,
            channel=channel.code,
            customer_tier="standard",
            customer_id=first.customer,
            priority=channel.priority,
            ship_to=ShipTo(region=first.country, postal_code="unknown"),
            lines=tuple(OrderLine(sku=sku, quantity=q, site=site) for sku, q in quantities.items()),
        )
        for sku, quantity in quantities.items():
            self.available[(sku, site)] -= quantity
            line = _OrderedLine(first.invoice, sku, site, quantity)
            self.unpicked[(first.invoice, sku)] = line
            self.sequence += 1
            heapq.heappush(self.due, (first.at + PICK_DELAY, self.sequence, first.invoice, sku))
            if first.customer is not None:
                self.by_customer.setdefault((first.customer, sku), []).append(line)

    def restock(self, sku: str, site: str, needed: int, at: datetime) -> Iterator[Event]:
        """A receipt at the dock and its put-away, when the bin holds fewer than `needed`."""
        shortfall = needed - self.available[(sku, site)]
        if shortfall <= 0:
            return
        quantity = max(shortfall, self.plan.batch(sku))
        self.receipt_numbers[(sku, site)] += 1
        n = self.receipt_numbers[(sku, site)]
        yield ReceiptPosted(
            event_id=f"or-receipt-{sku}-{site}-{n}",
            occurred_at=at,
            source=SOURCE,
            location=dock(site),
            lines=(ReceiptLine(sku=sku, quantity=quantity),),
        )
        yield PutAway(
            event_id=f"or-putaway-{sku}-{site}-{n}",
            occurred_at=at + PUTAWAY_AFTER,
            source=SOURCE,
            sku=sku,
            quantity=quantity,
            from_location=dock(site),
            to_location=pick_bin(site),
        )
        self.available[(sku, site)] += quantity
        self.stats.receipts += 1
        self.stats.units_received += quantity

    def credit(self, row: Row) -> Iterator[Event]:
        """A credit note's row: cancels the matched line if it is unpicked and whole, else a
        return to stock."""
        self.stats.rows_used += 1
        credited = -row.quantity
        lines = self.standing_lines(row)
        matched = lines[-1] if lines else None
        if (
            matched is not None
            and (matched.invoice, matched.sku) in self.unpicked
            and credited >= matched.quantity
        ):
            lines.pop()  # a cancelled line is not matched again
            yield self.cancel(row, matched)
            return
        site = matched.site if matched is not None else site_for(row.country, row.customer)
        self.return_numbers[(row.invoice, row.sku)] += 1
        n = self.return_numbers[(row.invoice, row.sku)]
        yield StockAdjusted(
            event_id=f"or-return-{row.invoice}-{row.sku}-{n}",
            occurred_at=row.at,
            source=SOURCE,
            sku=row.sku,
            quantity=credited,
            location=pick_bin(site),
            reason="returned",
            bucket="available",
        )
        self.available[(row.sku, site)] += credited
        self.stats.returns += 1

    def standing_lines(self, row: Row) -> list[_OrderedLine]:
        """The customer's earlier, uncancelled order lines of this SKU, oldest first."""
        if row.customer is None:
            return []  # blank customers are never matched
        return self.by_customer.get((row.customer, row.sku), [])

    def cancel(self, row: Row, line: _OrderedLine) -> OrderCancelled:
        del self.unpicked[(line.invoice, line.sku)]
        self.available[(line.sku, line.site)] += line.quantity
        self.stats.cancellations += 1
        self.stats.cancelled_beyond_line += -row.quantity - line.quantity
        return OrderCancelled(
            event_id=f"or-cancel-{row.invoice}-{row.sku}",
            occurred_at=row.at,
            source=SOURCE,
            order_id=line.invoice,
            skus=(line.sku,),
            reason=f"credit note {row.invoice}",
        )

    def adjustment(self, row: Row) -> Iterator[Event]:
        """Stock written off at the pick bin, never more than the projection holds."""
        site = site_for(row.country, row.customer)
        wanted = -row.quantity
        removed = min(wanted, max(0, self.available[(row.sku, site)]))
        self.stats.adjustment_beyond_stock += wanted - removed
        if removed == 0:
            self.stats.filtered[BEYOND_STOCK] += 1
            return
        self.stats.rows_used += 1
        self.available[(row.sku, site)] -= removed
        yield StockAdjusted(
            event_id=f"or-adjust-{row.invoice}-{row.number}",
            occurred_at=row.at,
            source=SOURCE,
            sku=row.sku,
            quantity=removed,
            location=pick_bin(site),
            reason=adjustment_reason(row.description),
        )


def replay(
    path: Path, *, limit_rows: int | None = None, stats: ReplayStats | None = None
) -> Iterator[Event]:
    """The events of the data set, in event-time order (see the module's rules)."""
    stats = stats if stats is not None else ReplayStats()
    replayer = _Replayer(survey(path), stats)
    for rows in _invoices(path, replayer.plan, limit_rows, stats):
        for event in replayer.invoice(rows):
            stats.events[event.type] += 1
            yield event
    for event in replayer.picks_due():
        stats.events[event.type] += 1
        yield event
