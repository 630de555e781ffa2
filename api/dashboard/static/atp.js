// Live ATP per site for the busiest SKUs: ranked by the server (`/v1/dashboard/busiest`, the
// SKUs whose ATP changed most often lately), then kept current by the ATP stream. A figure that
// moves flashes (green up, amber down); the chart follows the network ATP of the top five.

import { api } from "./api.js";
import { drawLines } from "./charts.js";
import { el, explain, fmtInt, setState } from "./format.js";

const RANK_EVERY_MS = 10000;
const SAMPLE_EVERY_MS = 1000;
const CHART_EVERY_MS = 2000;
const HISTORY_POINTS = 300; // five minutes of one-second samples
const CHARTED = 5;

export class AtpBoard {
  constructor({ onSelect, onSkus }) {
    this.onSelect = onSelect;
    this.onSkus = onSkus;
    this.table = document.getElementById("atp-table");
    this.stateLine = document.getElementById("atp-state");
    this.hint = document.getElementById("atp-hint");
    this.chart = document.getElementById("atp-chart");
    this.sites = [];
    this.rows = new Map(); // sku -> { sku, network, sites, changes, cells }
    this.pending = new Map(); // sku -> latest change not drawn yet
    this.history = new Map(); // sku -> [{ at, network }]
    this.drawScheduled = false;
  }

  start(signal) {
    const every = (ms, task) => {
      const timer = setInterval(task, ms);
      signal.addEventListener("abort", () => clearInterval(timer));
    };
    this.rows = new Map();
    this.history = new Map();
    this.rank();
    every(RANK_EVERY_MS, () => this.rank());
    every(SAMPLE_EVERY_MS, () => this.sample());
    every(CHART_EVERY_MS, () => this.drawChart());
  }

  async rank() {
    let answer;
    try {
      answer = await api("/v1/dashboard/busiest?limit=10");
    } catch (error) {
      setState(this.stateLine, error.status === 403 ? "denied" : "error", explain(error, "ATP"));
      return;
    }
    this.sites = answer.sites;
    const before = this.rows;
    this.rows = new Map();
    for (const item of answer.items) {
      const known = before.get(item.sku);
      // The stream may be ahead of the ranking's read: keep the newer figures.
      const fresher = known && known.updatedAt > (item.updated_at || "");
      this.rows.set(item.sku, {
        sku: item.sku,
        changes: item.changes,
        network: fresher ? known.network : item.network,
        sites: fresher ? known.sites : item.sites,
        updatedAt: fresher ? known.updatedAt : item.updated_at || "",
        cells: null,
      });
    }
    this.hint.textContent = answer.counted
      ? `ranked by ATP changes among the last ${fmtInt(answer.counted)}`
      : "";
    if (!this.rows.size) {
      setState(this.stateLine, "empty", "No ATP has changed yet: waiting for the first events.");
    } else {
      setState(this.stateLine, "info", "");
    }
    this.renderTable();
    this.onSkus([...this.rows.keys()], this.sites);
  }

  /** One ATP change from the stream. */
  apply(change) {
    if (!this.rows.has(change.sku)) return;
    this.pending.set(change.sku, change);
    if (!this.drawScheduled) {
      this.drawScheduled = true;
      // At most one repaint per frame, however fast changes arrive.
      requestAnimationFrame(() => this.drawPending());
    }
  }

  renderTable() {
    const head = el(
      "tr",
      {},
      el("th", { class: "text" }, "SKU"),
      el("th", {}, "Network"),
      this.sites.map((site) => el("th", {}, site)),
      el("th", { title: "ATP changes among those counted" }, "Changes"),
    );
    const body = [...this.rows.values()].map((row) => {
      const network = el("td", { class: "strong", "data-atp": `${row.sku}:network` });
      const sites = this.sites.map((site) => el("td", { "data-atp": `${row.sku}:${site}` }));
      row.cells = { network, sites };
      this.fill(row, false);
      return el(
        "tr",
        {
          class: "clickable",
          title: `Show ${row.sku}'s stock`,
          onclick: () => this.onSelect(row.sku),
        },
        el("td", { class: "text sku" }, row.sku),
        network,
        sites,
        el("td", { class: "muted" }, fmtInt(row.changes)),
      );
    });
    this.table.replaceChildren(el("thead", {}, head), el("tbody", {}, body));
  }

  drawPending() {
    this.drawScheduled = false;
    for (const [sku, change] of this.pending) {
      const row = this.rows.get(sku);
      if (!row || !row.cells) continue;
      row.network = change.network;
      row.sites = { ...row.sites, ...change.sites };
      row.updatedAt = change.updated_at;
      this.fill(row, true);
    }
    this.pending.clear();
  }

  fill(row, flash) {
    const show = (cell, value) => {
      const text = fmtInt(value);
      if (cell.textContent === text) return;
      const before = Number(cell.dataset.value);
      cell.textContent = text;
      cell.dataset.value = String(value);
      cell.classList.toggle("zero", value === 0);
      if (flash && !Number.isNaN(before)) {
        cell.classList.remove("flash-up", "flash-down");
        void cell.offsetWidth; // restart the animation
        cell.classList.add(value > before ? "flash-up" : "flash-down");
      }
    };
    show(row.cells.network, row.network);
    this.sites.forEach((site, i) => show(row.cells.sites[i], row.sites[site] ?? 0));
  }

  sample() {
    const at = new Date();
    const charted = [...this.rows.values()].slice(0, CHARTED);
    for (const row of charted) {
      const points = this.history.get(row.sku) || [];
      points.push({ at, network: row.network });
      if (points.length > HISTORY_POINTS) points.shift();
      this.history.set(row.sku, points);
    }
  }

  drawChart() {
    const charted = [...this.rows.keys()].slice(0, CHARTED);
    const series = charted
      .filter((sku) => (this.history.get(sku) || []).length > 1)
      .map((sku) => ({ name: sku, points: this.history.get(sku) }));
    drawLines(this.chart, series, { yTitle: "network ATP" });
  }
}
