// The dashboard's start: ask for an API key once (kept in sessionStorage), check it with
// `GET /v1/dashboard/me`, then start every section and the ATP stream. A 401 anywhere (the demo
// makes new keys at every start) stops everything and asks again.

import { api, onUnauthorized, session } from "./api.js";
import { AtpBoard } from "./atp.js";
import { DeadLetters } from "./deadletters.js";
import { ForecastPanel } from "./forecast.js";
import { el } from "./format.js";
import { HealthStrip } from "./health.js";
import { Proposals } from "./proposals.js";
import { RoutingDecisions } from "./routing.js";
import { streamAtp } from "./sse.js";
import { StockPanel } from "./stock.js";

const dialog = document.getElementById("login");
const keyInput = document.getElementById("login-key");
const loginError = document.getElementById("login-error");
const who = document.getElementById("who");
const changeKey = document.getElementById("change-key");
const skuList = document.getElementById("sku-list");

let running = null; // the AbortController of the running dashboard

function askForKey(message = "") {
  running?.abort();
  running = null;
  loginError.textContent = message;
  keyInput.value = "";
  if (!dialog.open) dialog.showModal();
  keyInput.focus();
}

async function whoAmI() {
  try {
    return await api("/v1/dashboard/me");
  } catch (error) {
    session.clear();
    askForKey(error.status === 401 ? "The API does not know this key." : error.message);
    return null;
  }
}

// Each section is built once (it holds its DOM and listeners) and started per key.
const stock = new StockPanel();
const forecast = new ForecastPanel();
const dead = new DeadLetters();
const proposals = new Proposals();
const routing = new RoutingDecisions();
const health = new HealthStrip({
  onDeadLetterCodes: (codes) => dead.knownCodes(codes),
  onEventTime: (iso) => routing.eventTime(iso),
});
const board = new AtpBoard({
  onSelect: (sku) => stock.show(sku),
  onSkus: (skus, sites) => {
    skuList.replaceChildren(...skus.map((sku) => el("option", { value: sku })));
    forecast.knownSites(sites);
    if (skus.length) forecast.suggest(skus[0]);
    if (!stock.sku && skus.length) stock.show(skus[0]);
  },
});

function run(me) {
  running?.abort();
  const controller = new AbortController();
  running = controller;
  const { signal } = controller;
  who.textContent = `${me.role} · ${me.name.split(":")[1] ?? ""}`;
  who.title = `Signed in with a ${me.role} key (${me.name})`;
  who.hidden = false;
  changeKey.hidden = false;
  health.start(signal);
  board.start(signal);
  dead.start(signal);
  proposals.start(signal);
  routing.start(signal);
  forecast.start(signal);
  streamAtp({
    signal,
    onStatus: (status, detail) => health.streamStatus(status, detail),
    onChange: (change) => {
      health.counted();
      board.apply(change);
      stock.changed(change.sku);
    },
  });
}

document.getElementById("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const key = keyInput.value.trim();
  if (!key) return;
  session.set(key);
  const me = await whoAmI();
  if (me) {
    dialog.close();
    run(me);
  }
});

dialog.addEventListener("cancel", (event) => event.preventDefault()); // the key is required
changeKey.addEventListener("click", () => {
  session.clear();
  askForKey();
});
onUnauthorized(() => {
  session.clear();
  askForKey("The API no longer accepts this key (the demo makes new keys at every start).");
});

(async () => {
  if (!session.key) {
    askForKey();
    return;
  }
  const me = await whoAmI();
  if (me) run(me);
})();
