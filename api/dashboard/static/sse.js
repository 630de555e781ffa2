// The ATP stream (`GET /v1/atp/stream`, server-sent events) read with fetch(), not EventSource.
//
// EventSource cannot send headers, so it would need the key in the URL, where access logs,
// proxies and the browser's history keep it. fetch() sends `Authorization: Bearer` like every
// other call; this module parses the `text/event-stream` frames itself and, when the stream
// ends or breaks, reconnects with `Last-Event-ID` so no change is missed.

import { authHeaders } from "./api.js";

const sleep = (ms, signal) =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });

function parseFrame(block) {
  const frame = { id: null, event: "message", data: [] };
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") frame.data.push(value);
    else if (field === "id") frame.id = value;
    else if (field === "event") frame.event = value;
  }
  return frame.data.length ? { ...frame, data: frame.data.join("\n") } : null;
}

/**
 * Streams ATP changes until `signal` aborts: `onChange(change)` per `event: atp`,
 * `onStatus(state, detail)` with state "connecting", "live", "retrying" or "denied".
 */
export async function streamAtp({ onChange, onStatus, signal }) {
  let lastId = null;
  let pause = 500;
  while (!signal.aborted) {
    onStatus("connecting");
    try {
      const headers = authHeaders({ Accept: "text/event-stream" });
      if (lastId) headers["Last-Event-ID"] = lastId;
      const response = await fetch("/v1/atp/stream", { headers, signal, cache: "no-store" });
      if (response.status === 401 || response.status === 403) {
        const body = await response.json().catch(() => ({}));
        onStatus("denied", body.detail || `HTTP ${response.status}`, response.status);
        return;
      }
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      onStatus("live");
      pause = 500;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n?/g, "\n");
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const frame = parseFrame(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (!frame) continue;
          if (frame.id) lastId = frame.id;
          if (frame.event === "atp") onChange(JSON.parse(frame.data));
          else if (frame.event === "error") throw new Error(JSON.parse(frame.data).detail);
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      onStatus("retrying", error.message);
    }
    await sleep(pause, signal);
    pause = Math.min(pause * 2, 10000);
  }
}
