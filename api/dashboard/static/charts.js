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

/** History, forecast and its band: each [{ x, y, lower, upper }]. */
export function drawForecast(node, { history, forecast }, { yTitle }) {
  if (!available(node)) return;
  node.hidden = false;
  const banded = forecast.filter((p) => p.lower !== undefined && p.upper !== undefined);
  const traces = [];
  if (banded.length) {
    traces.push(
      {
        type: "scatter",
        mode: "lines",
        name: "band (low)",
        x: banded.map((p) => p.x),
        y: banded.map((p) => p.lower),
        line: { width: 0 },
        showlegend: false,
        hoverinfo: "skip",
      },
      {
        type: "scatter",
        mode: "lines",
        name: "band",
        x: banded.map((p) => p.x),
        y: banded.map((p) => p.upper),
        fill: "tonexty",
        fillcolor: "rgba(79, 70, 229, 0.15)",
        line: { width: 0 },
      },
    );
  }
  traces.push(
    {
      type: "scatter",
      mode: "lines",
      name: "history",
      x: history.map((p) => p.x),
      y: history.map((p) => p.y),
      line: { width: 1.8, color: "#334155" },
    },
    {
      type: "scatter",
      mode: "lines",
      name: "forecast",
      x: forecast.map((p) => p.x),
      y: forecast.map((p) => p.y),
      line: { width: 2.2, color: "#4f46e5", dash: "dot" },
    },
  );
  window.Plotly.react(node, traces, baseLayout(yTitle), CONFIG);
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
