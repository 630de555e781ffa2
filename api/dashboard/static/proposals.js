// Reorder proposals (issue #7): `GET /v1/proposals`, and buttons that call
// `POST /v1/proposals/{id}:approve` and `:reject`. A decision becomes an input to the dataflow,
// so the list is read again until the proposal's status changes. While the server has no such
// endpoint the section says so; it never shows made-up proposals.

import { ApiError, api, hasRoute } from "./api.js";
import { el, explain, fmtInt, fmtTime, itemsOf, pick, setState } from "./format.js";

const REFRESH_MS = 5000;
const ACTIONABLE = new Set(["proposed", "pending", "open", "new", "awaiting_approval", "draft"]);

export class Proposals {
  constructor() {
    this.table = document.getElementById("proposals-table");
    this.stateLine = document.getElementById("proposals-state");
    this.hint = document.getElementById("proposals-hint");
    this.busy = new Set();
  }

  async start(signal) {
    if (!(await hasRoute("get", "/v1/proposals"))) {
      setState(
        this.stateLine,
        "missing",
        "Not available yet: this server has no GET /v1/proposals (reorder proposals, issue #7).",
      );
      return;
    }
    this.load();
    const timer = setInterval(() => this.load(), REFRESH_MS);
    signal.addEventListener("abort", () => clearInterval(timer));
  }

  async load() {
    let data;
    try {
      data = await api("/v1/proposals");
    } catch (error) {
      if (error instanceof ApiError && error.noSuchRoute) {
        setState(this.stateLine, "missing", "Not available yet: GET /v1/proposals is not served.");
      } else {
        setState(
          this.stateLine,
          error.status === 403 ? "denied" : "error",
          explain(error, "proposals"),
        );
      }
      return;
    }
    const items = itemsOf(data, "proposals");
    if (!items.length) {
      this.table.replaceChildren();
      setState(this.stateLine, "empty", "No reorder proposals right now.");
      return;
    }
    setState(this.stateLine, "info", "");
    this.hint.textContent = `${fmtInt(items.length)} shown`;
    const head = el(
      "tr",
      {},
      el("th", { class: "text" }, "SKU"),
      el("th", { class: "text" }, "Site"),
      el("th", {}, "Quantity"),
      el("th", { class: "text" }, "Status"),
      el("th", { class: "text" }, "Proposed"),
      el("th", { class: "text" }, ""),
    );
    this.table.replaceChildren(
      el("thead", {}, head),
      el(
        "tbody",
        {},
        items.map((p) => this.row(p)),
      ),
    );
  }

  row(proposal) {
    const id = String(pick(proposal, "id", "proposal_id") ?? "");
    const status = String(pick(proposal, "status", "state") ?? "proposed");
    const quantity = pick(proposal, "quantity", "order_quantity", "proposed_quantity", "qty");
    const open = ACTIONABLE.has(status.toLowerCase()) && id && !this.busy.has(id);
    const act = (verb, label, style) =>
      el(
        "button",
        { type: "button", class: style, "data-action": verb, onclick: () => this.decide(id, verb) },
        label,
      );
    return el(
      "tr",
      { "data-proposal": id },
      el("td", { class: "text sku" }, pick(proposal, "sku") ?? "—"),
      el("td", { class: "text" }, pick(proposal, "site", "location") ?? "—"),
      el("td", { class: "strong" }, fmtInt(quantity)),
      el(
        "td",
        { class: "text" },
        el(
          "span",
          { class: `tag status-${status.toLowerCase()}`, "data-status": status },
          this.busy.has(id) ? "sending…" : status,
        ),
      ),
      el(
        "td",
        { class: "text nowrap muted" },
        fmtTime(pick(proposal, "proposed_at", "created_at", "occurred_at")),
      ),
      el(
        "td",
        { class: "text actions" },
        open && [act("approve", "Approve", "small"), act("reject", "Reject", "small ghost")],
      ),
    );
  }

  async decide(id, verb) {
    this.busy.add(id);
    this.load();
    try {
      await api(`/v1/proposals/${encodeURIComponent(id)}:${verb}`, { method: "POST", body: {} });
    } catch (error) {
      setState(this.stateLine, "error", explain(error, `${verb} of proposal ${id}`));
    } finally {
      this.busy.delete(id);
      this.load();
    }
  }
}
