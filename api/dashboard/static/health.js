// The stream-health strip: is the ATP stream live and how fast it moves (measured here), how
// fresh the live view is, and how much the ledger and the dead letters hold
// (`GET /v1/dashboard/health`).

import { api } from "./api.js";
import { fmtDuration, fmtInt, fmtTime } from "./format.js";

const POLL_MS = 3000;
const RATE_WINDOW_MS = 10000;

function put(id, text, tone = "", title = "") {
  const metric = document.getElementById(id);
  metric.querySelector(".value").textContent = text;
  metric.dataset.tone = tone;
  metric.title = title;
}

export class HealthStrip {
  constructor({ onDeadLetterCodes, onEventTime }) {
    this.onDeadLetterCodes = onDeadLetterCodes;
    this.onEventTime = onEventTime;
    this.arrivals = [];
    this.status = "connecting";
    this.detail = "";
  }

  start(signal) {
    this.poll();
    const timer = setInterval(() => {
      this.poll();
      this.drawStream();
    }, POLL_MS);
    signal.addEventListener("abort", () => clearInterval(timer));
  }

  streamStatus(status, detail = "") {
    this.status = status;
    this.detail = detail;
    this.drawStream();
  }

  counted() {
    this.arrivals.push(performance.now());
  }

  drawStream() {
    const now = performance.now();
    this.arrivals = this.arrivals.filter((t) => now - t < RATE_WINDOW_MS);
    const rate = this.arrivals.length / (RATE_WINDOW_MS / 1000);
    const text = {
      live: `live · ${rate.toFixed(rate < 10 ? 1 : 0)} changes/s`,
      connecting: "connecting…",
      retrying: "reconnecting…",
      denied: "not allowed",
    }[this.status];
    const tone = { live: "good", connecting: "", retrying: "warn", denied: "bad" }[this.status];
    put("h-stream", text, tone, this.detail);
  }

  async poll() {
    let health;
    try {
      health = await api("/v1/dashboard/health");
    } catch (error) {
      put("h-view", "unavailable", "bad", error.message);
      return;
    }
    const { view } = health;
    put("h-view", `${fmtInt(health.view_skus)} SKUs · ${fmtInt(health.view_writes)} writes`);
    const quiet = view.seconds_since_write;
    put(
      "h-write",
      view.stale ? "never" : `${fmtDuration(quiet)} ago`,
      view.stale || quiet > 60 ? "warn" : "good",
      "Wall-clock time since the dataflow last wrote the live view",
    );
    put(
      "h-event",
      fmtTime(view.newest_event_at),
      "",
      "Event time of the newest event the view reflects",
    );
    put(
      "h-lag",
      fmtDuration(view.lag_seconds),
      "",
      "now − newest event time: large while a replay plays old events",
    );
    put(
      "h-ledger",
      `≈ ${fmtInt(health.ledger_entries)} entries`,
      "",
      "From PostgreSQL's statistics",
    );
    const dead = Object.values(health.dead_letters).reduce((a, b) => a + b, 0);
    const byCode = Object.entries(health.dead_letters).map(([code, n]) => `${code}: ${fmtInt(n)}`);
    put("h-dead", fmtInt(dead), dead ? "warn" : "good", byCode.join(", "));
    this.onDeadLetterCodes(Object.keys(health.dead_letters));
    this.onEventTime(view.newest_event_at);
  }
}
