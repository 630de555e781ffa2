// Stock buckets of one SKU per location and lot (`GET /v1/stock/{sku}`) beside its ATP per site
// and channel (`GET /v1/atp/{sku}`); refreshed when the stream says the SKU's ATP moved.

import { api } from "./api.js";
import { drawBuckets } from "./charts.js";
import { el, explain, fmtInt, fmtTime, setState } from "./format.js";

const BUCKETS = [
  ["available", "Avail.", "Available"],
  ["allocated", "Alloc.", "Allocated"],
  ["on_hold", "Hold", "On hold"],
  ["damaged", "Dmg.", "Damaged"],
  ["quarantined", "Quar.", "Quarantined"],
  ["on_hand", "On hand", "On hand: the sum of the buckets"],
];

function figures(title, values) {
  return el(
    "div",
    { class: "figures" },
    el("span", { class: "figures-title" }, title),
    Object.entries(values).map(([name, value]) =>
      el(
        "span",
        { class: `chip${value === 0 ? " zero" : ""}` },
        el("span", { class: "chip-name" }, name),
        el("span", { class: "chip-value" }, fmtInt(value)),
      ),
    ),
  );
}

export class StockPanel {
  constructor() {
    this.form = document.getElementById("stock-form");
    this.input = document.getElementById("stock-sku");
    this.stateLine = document.getElementById("stock-state");
    this.result = document.getElementById("stock-result");
    this.chart = document.getElementById("stock-chart");
    this.sku = null;
    this.refreshing = null;
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.show(this.input.value.trim());
    });
  }

  show(sku) {
    if (!sku) return;
    this.input.value = sku;
    this.sku = sku;
    this.load(true);
  }

  /** The stream saw a change: refresh if it is this SKU's (at most once a second). */
  changed(sku) {
    if (sku !== this.sku || this.refreshing) return;
    this.refreshing = setTimeout(() => {
      this.refreshing = null;
      this.load(false);
    }, 1000);
  }

  async load(announce) {
    const sku = this.sku;
    const path = encodeURIComponent(sku);
    if (announce) setState(this.stateLine, "info", `Reading ${sku}…`);
    let stock;
    let atp;
    try {
      [stock, atp] = await Promise.all([api(`/v1/stock/${path}`), api(`/v1/atp/${path}`)]);
    } catch (error) {
      if (sku !== this.sku) return;
      this.result.replaceChildren();
      this.chart.hidden = true;
      const unknown = error.status === 404 && !error.noSuchRoute;
      setState(
        this.stateLine,
        unknown ? "empty" : "error",
        unknown ? error.detail : explain(error, "stock"),
      );
      return;
    }
    if (sku !== this.sku) return;
    setState(this.stateLine, "info", "");
    this.render(stock, atp);
  }

  render(stock, atp) {
    const summary = el(
      "div",
      { class: "summary" },
      el("span", { class: "sku big" }, stock.sku),
      el("span", {}, "ATP ", el("b", { "data-stock": "network" }, fmtInt(atp.network))),
      el("span", {}, "on hand ", el("b", {}, fmtInt(stock.on_hand))),
      el("span", {}, "in transit ", el("b", {}, fmtInt(stock.in_transit))),
      el("span", {}, "on order ", el("b", {}, fmtInt(stock.on_order))),
      el("span", { class: "muted" }, `updated ${fmtTime(stock.updated_at)}`),
    );
    const lots = stock.positions.some((p) => p.lot);
    const head = el(
      "tr",
      {},
      el("th", { class: "text" }, "Location"),
      lots && el("th", { class: "text" }, "Lot"),
      BUCKETS.map(([, label, title]) => el("th", { title }, label)),
    );
    const rows = stock.positions.map((p) =>
      el(
        "tr",
        {},
        el("td", { class: "text mono" }, p.location),
        lots && el("td", { class: "text mono" }, p.lot || "—"),
        BUCKETS.map(([field]) =>
          el(
            "td",
            { class: `${field === "on_hand" ? "strong" : ""}${p[field] === 0 ? " zero" : ""}` },
            fmtInt(p[field]),
          ),
        ),
      ),
    );
    const table = stock.positions.length
      ? el(
          "div",
          { class: "table-wrap" },
          el("table", { class: "numbers positions" }, el("thead", {}, head), el("tbody", {}, rows)),
        )
      : el("p", { class: "state empty" }, "Nothing on hand at any location.");
    this.result.replaceChildren(
      summary,
      figures("ATP by site", atp.sites),
      figures("by channel", atp.channels),
      table,
    );
    const bySite = {};
    for (const p of stock.positions) {
      const site = (bySite[p.site] ||= {});
      for (const [field] of BUCKETS.slice(0, 5)) site[field] = (site[field] || 0) + p[field];
    }
    drawBuckets(this.chart, bySite, Object.fromEntries(BUCKETS.map(([f, , title]) => [f, title])));
  }
}
