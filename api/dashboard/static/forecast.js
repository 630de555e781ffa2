// Forecast chart for a chosen SKU and site (issue #7): the demand history, the forecast and its
// band. The endpoint is found in the server's OpenAPI document (a GET under /v1/forecast…, taking
// the SKU and the site as path or query parameters); while there is none the section says so.

import { ApiError, api, serverPaths } from "./api.js";
import { drawForecast } from "./charts.js";
import { el, explain, itemsOf, pick, setState } from "./format.js";

const X_NAMES = ["date", "period", "day", "week", "month", "at", "time", "t"];
const Y_NAMES = ["value", "quantity", "demand", "mean", "point", "forecast", "yhat", "units"];

async function findEndpoint() {
  const paths = await serverPaths();
  const found = Object.entries(paths)
    .filter(([path, ops]) => /^\/v1\/forecasts?(\/|$|\?)/.test(path) && ops.get)
    .sort(([a], [b]) => Number(b.includes("{sku}")) - Number(a.includes("{sku}")));
  if (!found.length) return null;
  const [path, ops] = found[0];
  const query = new Set(
    (ops.get.parameters || []).filter((p) => p.in === "query").map((p) => p.name),
  );
  return { path, query };
}

function urlOf(endpoint, sku, site) {
  const values = { sku, site };
  let path = endpoint.path.replace(/\{(\w+)\}/g, (_, name) =>
    encodeURIComponent(values[name] ?? ""),
  );
  const params = new URLSearchParams();
  for (const name of ["sku", "site"]) {
    if (endpoint.query.has(name) && !endpoint.path.includes(`{${name}}`) && values[name])
      params.set(name, values[name]);
  }
  return params.size ? `${path}?${params}` : path;
}

function points(list) {
  return itemsOf(list)
    .map((p) => ({
      x: pick(p, ...X_NAMES),
      y: pick(p, ...Y_NAMES),
      lower: pick(p, "lower", "lo", "low", "p10", "q10"),
      upper: pick(p, "upper", "hi", "high", "p90", "q90"),
    }))
    .filter((p) => p.x !== undefined && p.y !== undefined);
}

export class ForecastPanel {
  constructor() {
    this.form = document.getElementById("forecast-form");
    this.sku = document.getElementById("forecast-sku");
    this.site = document.getElementById("forecast-site");
    this.stateLine = document.getElementById("forecast-state");
    this.chart = document.getElementById("forecast-chart");
    this.endpoint = null;
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.load();
    });
  }

  async start() {
    this.endpoint = await findEndpoint();
    if (!this.endpoint) {
      setState(
        this.stateLine,
        "missing",
        "Not available yet: this server has no forecast endpoint (GET /v1/forecasts…, demand learning, issue #7).",
      );
      return;
    }
    this.form.hidden = false;
    setState(this.stateLine, "info", "Choose a SKU and a site.");
  }

  knownSites(sites) {
    if (this.site.options.length === sites.length) return;
    this.site.replaceChildren(...sites.map((s) => el("option", { value: s }, s)));
  }

  suggest(sku) {
    if (!this.sku.value) this.sku.value = sku;
  }

  async load() {
    if (!this.endpoint || !this.sku.value.trim()) return;
    const sku = this.sku.value.trim();
    let data;
    try {
      data = await api(urlOf(this.endpoint, sku, this.site.value));
    } catch (error) {
      const missing = error instanceof ApiError && error.noSuchRoute;
      this.chart.hidden = true;
      setState(
        this.stateLine,
        missing ? "missing" : "error",
        missing
          ? "Not available yet: the forecast endpoint is not served."
          : explain(error, "the forecast"),
      );
      return;
    }
    const history = points(pick(data, "history", "actuals", "observed", "demand"));
    const forecast = points(pick(data, "forecast", "forecasts", "points", "predictions"));
    if (!history.length && !forecast.length) {
      this.chart.hidden = true;
      const keys = data && typeof data === "object" ? Object.keys(data).join(", ") : typeof data;
      setState(
        this.stateLine,
        "error",
        `The forecast endpoint answered in a shape this page does not read (fields: ${keys}).`,
      );
      return;
    }
    setState(this.stateLine, "info", "");
    drawForecast(this.chart, { history, forecast }, { yTitle: "units" });
  }
}
