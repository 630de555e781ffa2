// Charts, drawn by plotly.js: served by the API from the `plotly` Python package (a pinned
// dependency), so the page needs nothing from the internet.

export const PALETTE = ["#0f766e", "#4f46e5", "#d97706", "#db2777", "#0891b2", "#65a30d"];

const FONT = {
  family: "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif",
  size: 11,
  color: "#475569",
};

function baseLayout(yTitle) {
  return {
    font: FONT,
    margin: { l: 52, r: 12, t: 8, b: 28 },
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    showlegend: true,
    legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom", font: { size: 11 } },
    xaxis: { gridcolor: "#eef2f6", linecolor: "#cbd5e1", zeroline: false, automargin: true },
    yaxis: {
      gridcolor: "#eef2f6",
      zeroline: false,
      rangemode: "tozero",
      separatethousands: true,
      title: { text: yTitle, font: { size: 11 } },
    },
    hovermode: "x unified",
  };
}

const CONFIG = { displayModeBar: false, responsive: true };
// Whole seconds and minutes between time ticks, so no two ticks read the same.
const TICK_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600].map((s) => s * 1000);

function available(node) {
  if (window.Plotly) return true;
  node.textContent = "The chart library (plotly.js) did not load.";
  return false;
}

/** Lines over time: `series` is [{ name, points: [{ at: Date, network }] }]. */
export function drawLines(node, series, { yTitle }) {
  if (!available(node)) return;
  node.hidden = series.length === 0;
  if (!series.length) return;
  const traces = series.map((s, i) => ({
    type: "scatter",
    mode: "lines",
    name: s.name,
    x: s.points.map((p) => p.at),
    y: s.points.map((p) => p.network),
    line: { width: 2, color: PALETTE[i % PALETTE.length], shape: "hv" },
  }));
  const layout = baseLayout(yTitle);
  const times = series.flatMap((s) => [s.points[0].at, s.points[s.points.length - 1].at]);
  const span = Math.max(...times) - Math.min(...times);
  layout.xaxis.tickformat = "%H:%M:%S";
  layout.xaxis.dtick = TICK_STEPS.find((step) => step >= span / 6) ?? TICK_STEPS.at(-1);
  window.Plotly.react(node, traces, layout, CONFIG);
}

function bandTraces(points, key, name, colour) {
  const x = points.map((p) => p.day);
  return [
    {
      type: "scatter",
      mode: "lines",
      name: `${name} (low)`,
      x,
      y: points.map((p) => p[key].lower),
      line: { width: 0 },
      showlegend: false,
      hoverinfo: "skip",
    },
    {
      type: "scatter",
      mode: "lines",
      name,
      x,
      y: points.map((p) => p[key].upper),
      fill: "tonexty",
      fillcolor: colour,
      line: { width: 0 },
      hoverinfo: "skip",
    },
  ];
}

/** A `GET /v1/forecasts/{sku}` answer: each closed day's demand and the forecast made for it,
 * then the days ahead (the next day, then the horizon) with their 95% and 80% bands. */
export function drawForecast(node, forecast, { yTitle }) {
  if (!available(node)) return;
  node.hidden = false;
  const history = forecast.history;
  const ahead = forecast.horizon.length ? forecast.horizon : [forecast.next_day];
  const traces = [
    ...bandTraces(ahead, "band_95", "95% band", "rgba(79, 70, 229, 0.10)"),
    ...bandTraces(ahead, "band_80", "80% band", "rgba(79, 70, 229, 0.20)"),
    {
      type: "scatter",
      mode: "lines+markers",
      name: "demand",
      x: history.map((d) => d.day),
      y: history.map((d) => d.actual),
      line: { width: 1.5, color: "#334155" },
      marker: { size: 4 },
    },
    {
      type: "scatter",
      mode: "lines",
      name: "forecast the day before",
      x: history.map((d) => d.day),
      y: history.map((d) => d.forecast),
      line: { width: 1.8, color: "#d97706", dash: "dot" },
    },
    {
      type: "scatter",
      mode: "lines+markers",
      name: "forecast ahead",
      x: ahead.map((p) => p.day),
      y: ahead.map((p) => p.mean),
      line: { width: 2.2, color: "#4f46e5" },
      marker: { size: 4 },
    },
  ];
  const layout = baseLayout(yTitle);
  layout.xaxis.type = "date";
  layout.xaxis.tickformat = "%d %b";
  layout.shapes = [
    {
      type: "line",
      xref: "x",
      yref: "paper",
      x0: forecast.as_of,
      x1: forecast.as_of,
      y0: 0,
      y1: 1,
      line: { color: "#94a3b8", width: 1, dash: "dash" },
    },
  ];
  window.Plotly.react(node, traces, layout, CONFIG);
}

const BUCKET_COLOURS = {
  available: "#0f766e",
  allocated: "#4f46e5",
  on_hold: "#d97706",
  damaged: "#db2777",
  quarantined: "#64748b",
};

/** Stacked bars of on-hand buckets per site: `bySite` is { site: { bucket: units } }. */
export function drawBuckets(node, bySite, labels) {
  if (!available(node)) return;
  const sites = Object.keys(bySite).sort();
  node.hidden = sites.length === 0;
  if (!sites.length) return;
  const traces = Object.entries(BUCKET_COLOURS).map(([bucket, colour]) => ({
    type: "bar",
    orientation: "h",
    name: labels[bucket] || bucket,
    y: sites,
    x: sites.map((site) => bySite[site][bucket] || 0),
    marker: { color: colour },
    hovertemplate: `%{y}: %{x:,} ${labels[bucket] || bucket}<extra></extra>`,
  }));
  const layout = baseLayout("");
  layout.barmode = "stack";
  layout.legend = { ...layout.legend, traceorder: "normal" };
  layout.hovermode = "closest";
  layout.margin = { l: 44, r: 12, t: 6, b: 24 };
  layout.yaxis = { automargin: true, autorange: "reversed" };
  layout.xaxis = { ...layout.xaxis, separatethousands: true, rangemode: "tozero" };
  window.Plotly.react(node, traces, layout, CONFIG);
}
