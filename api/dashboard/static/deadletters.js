// Dead letters, newest first (`GET /v1/dead-letters`, analysts and admins): why each input was
// refused and the start of what it was. Payloads are untrusted bytes: shown as text, never HTML.

import { api } from "./api.js";
import { el, explain, fmtClock, setState } from "./format.js";

const PAGE = 10;
const REFRESH_MS = 10000;

export class DeadLetters {
  constructor() {
    this.table = document.getElementById("dead-table");
    this.stateLine = document.getElementById("dead-state");
    this.codes = document.getElementById("dead-code");
    this.newest = document.getElementById("dead-newest");
    this.older = document.getElementById("dead-older");
    this.cursors = [null]; // the cursor of each page shown so far; the last is the current one
    this.next = null;
    this.codes.addEventListener("change", () => this.first());
    this.newest.addEventListener("click", () => this.first());
    this.older.addEventListener("click", () => {
      if (!this.next) return;
      this.cursors.push(this.next);
      this.load();
    });
  }

  start(signal) {
    this.load();
    const timer = setInterval(() => {
      if (this.cursors.length === 1) this.load(); // follow new arrivals on the first page only
    }, REFRESH_MS);
    signal.addEventListener("abort", () => clearInterval(timer));
  }

  knownCodes(codes) {
    const have = new Set([...this.codes.options].map((o) => o.value));
    for (const code of codes)
      if (!have.has(code)) this.codes.append(el("option", { value: code }, code));
  }

  first() {
    this.cursors = [null];
    this.load();
  }

  async load() {
    const params = new URLSearchParams({ limit: String(PAGE) });
    const cursor = this.cursors[this.cursors.length - 1];
    if (cursor) params.set("cursor", cursor);
    if (this.codes.value) params.set("code", this.codes.value);
    let page;
    try {
      page = await api(`/v1/dead-letters?${params}`);
    } catch (error) {
      this.table.replaceChildren();
      setState(
        this.stateLine,
        error.status === 403 ? "denied" : "error",
        explain(error, "dead letters"),
      );
      return;
    }
    this.next = page.next_cursor;
    this.older.disabled = !this.next;
    this.newest.disabled = this.cursors.length === 1;
    if (!page.items.length) {
      this.table.replaceChildren();
      setState(this.stateLine, "empty", "No dead letters: every input became a ledger entry.");
      return;
    }
    setState(this.stateLine, "info", "");
    const head = el(
      "tr",
      {},
      ["Received", "Code", "Reason", "Payload"].map((h) => el("th", { class: "text" }, h)),
    );
    const rows = page.items.map((d) =>
      el(
        "tr",
        { "data-dead-letter": d.id },
        el("td", { class: "text nowrap muted", title: d.received_at }, fmtClock(d.received_at)),
        el("td", { class: "text" }, el("span", { class: "tag" }, d.code)),
        el("td", { class: "text clip", title: d.reason }, d.reason),
        el(
          "td",
          { class: "text clip mono muted", title: `${d.origin}\n${d.payload_preview}` },
          d.payload_preview,
        ),
      ),
    );
    this.table.replaceChildren(el("thead", {}, head), el("tbody", {}, rows));
  }
}
