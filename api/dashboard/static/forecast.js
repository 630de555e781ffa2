// Forecast chart for a chosen SKU and site (issue #7), from `GET /v1/forecasts/{sku}?site=&days=`:
// the demand of each closed day, the forecast made for it the day before, and the days ahead
// with their 80% and 95% bands. The SKU comes from the busiest list (or is typed); the sites
// from the catalog's sites the ATP board knows, and from the sites the answer says have
// forecasts. The chosen SKU-site is read again every few seconds, as days close.

import { ApiError, api } from "./api.js";
import { drawForecast } from "./charts.js";
import { el, explain, fmtInt, fmtNum, setState } from "./format.js";

const HISTORY_DAYS = 56;
const REFRESH_MS = 10000;

export class ForecastPanel {
  constructor() {
    this.form = document.getElementById("forecast-form");
    this.sku = document.getElementById("forecast-sku");
    this.site = document.getElementById("forecast-site");
    this.stateLine = document.getElementById("forecast-state");
    this.summary = document.getElementById("forecast-summary");
    this.chart = document.getElementById("forecast-chart");
    this.sites = new Set();
    this.started = false;
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.load();
    });
    this.site.addEventListener("change", () => this.load());
  }

  start(signal) {
    this.started = true;
    this.form.hidden = false;
    setState(this.stateLine, "info", "Choose a SKU and a site.");
    const timer = setInterval(() => {
      if (document.activeElement !== this.sku) this.load({ quiet: true });
    }, REFRESH_MS);
    signal.addEventListener("abort", () => {
      clearInterval(timer);
      this.started = false;
    });
    this.load({ quiet: true });
  }

  /** Sites the dashboard knows of (the catalog's, as the ATP board reads them). */
  knownSites(sites) {
    const before = this.sites.size;
    for (const site of sites) this.sites.add(site);
    if (this.sites.size !== before) this.renderSites();
  }

  renderSites() {
    const chosen = this.site.value;
    const sorted = [...this.sites].sort();
    this.site.replaceChildren(...sorted.map((s) => el("option", { value: s }, s)));
    if (chosen && this.sites.has(chosen)) this.site.value = chosen;
  }

  /** The busiest SKU, offered until the person picks one. */
  suggest(sku) {
    if (this.sku.value) return;
    this.sku.value = sku;
    if (this.started) this.load({ quiet: true });
  }

  async load({ quiet = false } = {}) {
    const sku = this.sku.value.trim();
    if (!this.started || !sku) return;
    const params = new URLSearchParams({ days: String(HISTORY_DAYS) });
    if (this.site.value) params.set("site", this.site.value);
    if (!quiet) setState(this.stateLine, "info", "Loading…");
    let data;
    try {
      data = await api(`/v1/forecasts/${encodeURIComponent(sku)}?${params}`);
    } catch (error) {
      this.chart.hidden = true;
      this.summary.hidden = true;
      if (error instanceof ApiError && error.status === 404 && !error.noSuchRoute) {
        setState(this.stateLine, "empty", error.detail);
      } else {
        setState(
          this.stateLine,
          error.status === 403 ? "denied" : "error",
          explain(error, "the forecast"),
        );
      }
      return;
    }
    if (sku !== this.sku.value.trim()) return; // the person chose another SKU meanwhile
    this.knownSites(data.sites);
    this.site.value = data.site;
    setState(this.stateLine, "info", "");
    this.showSummary(data);
    drawForecast(this.chart, data, { yTitle: "units a day" });
    this.chart.dataset.forecast = `${data.sku}:${data.site}`;
  }

  showSummary(data) {
    const next = data.next_day;
    const band = next.band_80;
    this.summary.replaceChildren(
      el("span", {}, el("b", {}, `${data.sku} at ${data.site}`)),
      el(
        "span",
        {},
        `${data.method} (${data.demand_pattern}), ${fmtInt(data.days_learnt)} days learnt to ${data.as_of}`,
      ),
      el(
        "span",
        {},
        `next day ${next.day}: `,
        el("b", { "data-next-mean": String(next.mean) }, fmtNum(next.mean)),
        ` units, 80% ${fmtNum(band.lower)}–${fmtNum(band.upper)}, ` +
          `95% ${fmtNum(next.band_95.lower)}–${fmtNum(next.band_95.upper)}`,
      ),
    );
    this.summary.hidden = false;
  }
}
