// Small helpers: building elements (text only, never HTML) and formatting numbers and times.

/** An element with properties, attributes (`data-*`, `aria-*`, `class`) and children. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("data-") || name.startsWith("aria-") || name === "title") {
      node.setAttribute(name, value);
    } else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node[name] = value;
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const integer = new Intl.NumberFormat("en-GB", { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat("en-GB", { maximumFractionDigits: 2 });

export const fmtInt = (n) => (n === null || n === undefined ? "—" : integer.format(n));
export const fmtNum = (n) =>
  n === null || n === undefined || Number.isNaN(Number(n)) ? "—" : decimal.format(Number(n));

/** "2027-02-10 17:39 UTC" from an ISO time. */
export function fmtTime(iso) {
  if (!iso) return "—";
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return String(iso);
  return `${at.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** "12-07 17:28" (UTC): an event time in a narrow column; the full time goes in its title. */
export function fmtShort(iso) {
  if (!iso) return "—";
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return String(iso);
  return at.toISOString().slice(5, 16).replace("T", " ");
}

/** "12:35:02" for a time today (UTC), else its date: for lists of recent things. */
export function fmtClock(iso) {
  if (!iso) return "—";
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return String(iso);
  const text = at.toISOString();
  const today = new Date().toISOString().slice(0, 10);
  return text.slice(0, 10) === today ? text.slice(11, 19) : text.slice(0, 10);
}

/** A duration in seconds as a person reads it: "0.2 s", "14 min", "3.1 h", "5,480 d". */
export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${integer.format(Math.round(seconds / 86400))} d`;
}

/** The first of `names` that `obj` has (not null): for answers whose field names may vary. */
export function pick(obj, ...names) {
  if (!obj || typeof obj !== "object") return undefined;
  for (const name of names) if (obj[name] !== undefined && obj[name] !== null) return obj[name];
  return undefined;
}

/** A list from an answer that is a list, or holds one under a usual name. */
export function itemsOf(data, ...names) {
  if (Array.isArray(data)) return data;
  const found = pick(data, ...names, "items", "results", "data");
  return Array.isArray(found) ? found : [];
}

/** Shows `message` in a section's state line (class: info, empty, missing, denied, error). */
export function setState(node, kind, message) {
  node.hidden = !message;
  node.className = `state ${kind}`;
  node.textContent = message || "";
}

/** A sentence for an API error shown in a section. */
export function explain(error, what) {
  if (error && error.status === 403) return `Your key may not read ${what}: ${error.detail}`;
  if (error && error.status === 503) return `The API could not read ${what}: ${error.detail}`;
  return `Could not read ${what}: ${error && error.message ? error.message : error}`;
}
