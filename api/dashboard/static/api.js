// Calls to the skuflow API with the key the person entered, as `Authorization: Bearer`.
// The key lives in sessionStorage: it survives a reload of this tab and dies with it.

const KEY = "skuflow.apiKey";

export const session = {
  get key() {
    return sessionStorage.getItem(KEY);
  },
  set(key) {
    sessionStorage.setItem(KEY, key);
  },
  clear() {
    sessionStorage.removeItem(KEY);
  },
};

export class ApiError extends Error {
  constructor(status, detail, path) {
    super(`${status} from ${path}: ${detail}`);
    this.status = status;
    this.detail = detail;
    this.path = path;
  }

  // FastAPI answers a path it has no route for with exactly this; our routes say more.
  get noSuchRoute() {
    return (this.status === 404 && this.detail === "Not Found") || this.status === 405;
  }
}

function describe(body) {
  if (body && typeof body === "object" && "detail" in body) {
    const { detail } = body;
    if (Array.isArray(detail)) return detail.map((d) => d.msg || JSON.stringify(d)).join("; ");
    return String(detail);
  }
  return typeof body === "string" && body ? body : "no detail";
}

const listeners = new Set();
/** Called with the ApiError whenever the API refuses the key (401). */
export function onUnauthorized(listener) {
  listeners.add(listener);
}

export function authHeaders(extra = {}) {
  return { Authorization: `Bearer ${session.key}`, ...extra };
}

export async function api(path, { method = "GET", body, signal } = {}) {
  const headers = authHeaders({ Accept: "application/json" });
  const init = { method, headers, signal, cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let data = text;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text for the error message
  }
  if (!response.ok) {
    const error = new ApiError(response.status, describe(data), path);
    if (response.status === 401) listeners.forEach((listener) => listener(error));
    throw error;
  }
  return data;
}

let paths = null;
/** The API's own OpenAPI document says which endpoints this server has. */
export async function serverPaths() {
  if (paths === null) {
    try {
      const response = await fetch("/openapi.json", { cache: "no-store" });
      paths = response.ok ? (await response.json()).paths || {} : {};
    } catch {
      paths = {};
    }
  }
  return paths;
}

export async function hasRoute(method, path) {
  const operations = (await serverPaths())[path];
  return Boolean(operations && operations[method.toLowerCase()]);
}
