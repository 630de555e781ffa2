// Recent routing decisions with their cost breakdown (issue #6): `GET /v1/routing/decisions`,
// whose items are `RoutingDecisionPublic` (sites, cost {shipping, split, overflow, depletion,
// unfilled, total}, alternatives). That endpoint pages oldest first in decision time (event
// time), so the page asks for the last hour of event time before the newest event the view
// holds, follows its pages, and shows the latest decisions first. While the server has no such
// endpoint the section says so; it never shows made-up decisions.

import { ApiError, api, hasRoute } from "./api.js";
import { el, explain, fmtInt, fmtNum, fmtShort, setState } from "./format.js";

const REFRESH_MS = 5000;
const SHOWN = 12;
const WINDOW_MS = 3600 * 1000;
const MAX_PAGES = 5;
const TERMS = ["shipping", "split", "overflow", "depletion", "unfilled"];

export class RoutingDecisions {
  constructor() {
    this.table = document.getElementById("routing-table");
    this.stateLine = document.getElementById("routing-state");
    this.hint = document.getElementById("routing-hint");
    this.newestEvent = undefined; // not known until the health strip has read it
    this.started = false;
  }

  /** The newest event time the view holds (from the health strip): the window's end. */
  eventTime(iso) {
    const first = this.newestEvent === undefined;
    this.newestEvent = iso;
    if (first && this.started) this.load();
  }

  async start(signal) {
    if (!(await hasRoute("get", "/v1/routing/decisions"))) {
      setState(
        this.stateLine,
        "missing",
        "Not available yet: this server has no GET /v1/routing/decisions (order routing, issue #6).",
      );
      return;
    }
    this.started = true;
    if (this.newestEvent !== undefined) this.load();
    const timer = setInterval(() => this.load(), REFRESH_MS);
    signal.addEventListener("abort", () => clearInterval(timer));
  }

  async latest() {
    const params = new URLSearchParams({ limit: "500" });
    if (this.newestEvent) {
      params.set("since", new Date(Date.parse(this.newestEvent) - WINDOW_MS).toISOString());
    }
    let found = [];
    for (let pages = 0; pages < MAX_PAGES; pages += 1) {
      const page = await api(`/v1/routing/decisions?${params}`);
      found = found.concat(page.items).slice(-SHOWN);
      if (!page.next_cursor) break;
      params.set("cursor", page.next_cursor);
    }
    return found.reverse();
  }

  async load() {
    let items;
    try {
      items = await this.latest();
    } catch (error) {
      const missing = error instanceof ApiError && error.noSuchRoute;
      const kind = missing ? "missing" : error.status === 403 ? "denied" : "error";
      const text = missing
        ? "Not available yet: GET /v1/routing/decisions is not served."
        : explain(error, "routing decisions");
      setState(this.stateLine, kind, text);
      return;
    }
    if (!items.length) {
      this.table.replaceChildren();
      setState(this.stateLine, "empty", "No routing decisions yet.");
      return;
    }
    setState(this.stateLine, "info", "");
    this.hint.textContent = "latest first";
    const head = el(
      "tr",
      {},
      el("th", { class: "text" }, "Order"),
      el("th", { class: "text" }, "Ship from"),
      el("th", {}, "Units"),
      el("th", {}, "Cost"),
      el("th", { class: "text" }, "Breakdown"),
      el("th", { class: "text" }, "Decided"),
    );
    this.table.replaceChildren(
      el("thead", {}, head),
      el(
        "tbody",
        {},
        items.map((d) => this.row(d)),
      ),
    );
  }

  row(decision) {
    const { cost } = decision;
    const terms = TERMS.filter((term) => cost[term]).map((term) =>
      el(
        "span",
        { class: "chip small" },
        el("span", { class: "chip-name" }, term),
        el("span", { class: "chip-value" }, fmtNum(cost[term])),
      ),
    );
    const others = decision.alternatives
      .map((a) => `${a.label}: ${fmtNum(a.cost.total)}`)
      .join("\n");
    return el(
      "tr",
      { "data-order": decision.order_id, title: others ? `Also considered:\n${others}` : "" },
      el("td", { class: "text mono" }, decision.order_id),
      el(
        "td",
        { class: "text nowrap" },
        decision.sites.join(" + ") || "—",
        decision.split && el("span", { class: "tag subtle" }, "split"),
      ),
      el("td", {}, `${fmtInt(decision.allocated)}/${fmtInt(decision.ordered)}`),
      el("td", { class: "strong" }, fmtNum(cost.total)),
      el(
        "td",
        { class: "text breakdown" },
        terms.length ? terms : el("span", { class: "muted" }, "—"),
      ),
      el(
        "td",
        { class: "text nowrap muted", title: decision.decided_at },
        fmtShort(decision.decided_at),
      ),
    );
  }
}
