// The console's only way to the server: fetch with the key in an Authorization header.
//
// The key lives in sessionStorage: it survives a reload but not the tab, is never put in a URL
// (URLs end up in history, logs and Referer headers) and never in a cookie.

const KEY_SLOT = "iocfeed.apiKey";

export const storedKey = () => sessionStorage.getItem(KEY_SLOT);
export const storeKey = (key) => sessionStorage.setItem(KEY_SLOT, key);
export const forgetKey = () => sessionStorage.removeItem(KEY_SLOT);

/** An error in the API's envelope: {"error": {"code", "message", "request_id", "details"}}. */
export class ApiError extends Error {
  constructor(status, code, message, details = {}, requestId = null, retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || {};
    this.requestId = requestId;
    this.retryAfter = retryAfter;
  }
}

// What each 401 means for the person at the keyboard; the server's own sentence follows it when it
// adds something (the expiry date, "has been revoked").
export const AUTH_MESSAGES = {
  missing_api_key: "No API key was given. Paste the key you were issued; it starts with sk_live_.",
  invalid_api_key: "This API key is not valid: it is unknown, mistyped, or has been revoked.",
  expired_api_key: "This API key has expired. Ask for a new key, or sign in with another one.",
};

/** One sentence for any failure, fit for the alert region. */
export function explain(error) {
  if (!(error instanceof ApiError)) return `Something went wrong in the console: ${error.message}`;
  if (error.status === 401) {
    const known = AUTH_MESSAGES[error.code] || AUTH_MESSAGES.invalid_api_key;
    return error.message && !known.includes(error.message) ? `${known} (${error.message})` : known;
  }
  if (error.code === "rate_limit_exceeded") {
    return `This key has reached its rate limit. Try again in ${error.retryAfter ?? "a few"} s. (${error.message})`;
  }
  const reference = error.requestId ? ` (request ${error.requestId})` : "";
  return `${error.message}${reference}`;
}

let onSignedOut = () => {};
/** Called with the error when the stored key stops working (revoked or expired mid-session). */
export const whenSignedOut = (handler) => { onSignedOut = handler; };

async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not our envelope (a proxy's page): keep the status line.
  }
  const error = body && body.error ? body.error : {};
  const retry = response.headers.get("Retry-After");
  return new ApiError(
    response.status,
    error.code || `http_${response.status}`,
    error.message || `The server answered ${response.status} ${response.statusText}.`,
    error.details,
    error.request_id || response.headers.get("X-Request-ID"),
    retry === null ? null : Number(retry),
  );
}

/**
 * fetch() with the key. `key` overrides the stored one (the sign-in form tries a key before
 * keeping it). Throws ApiError for any answer but 2xx.
 */
export async function request(path, {method = "GET", body, accept = "application/json", key} = {}) {
  const usingStored = key === undefined;
  const secret = usingStored ? storedKey() : key;
  const headers = {Accept: accept};
  if (secret) headers.Authorization = `Bearer ${secret}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
      referrerPolicy: "no-referrer",
    });
  } catch {
    throw new ApiError(0, "network_error", "The server could not be reached. Is iocfeed still running?");
  }
  if (response.ok) return response;
  const error = await errorFrom(response);
  if (error.status === 401 && usingStored) onSignedOut(error);
  throw error;
}

export async function getJson(path, params) {
  const query = params && [...params].length ? `?${params}` : "";
  return (await request(`${path}${query}`)).json();
}

export async function sendJson(method, path, body) {
  return (await request(path, {method, body})).json();
}

/**
 * A download that needs the key: fetch it, then hand the browser a Blob. A plain link cannot
 * carry an Authorization header, and the key must not go in the URL.
 */
export async function download(path, filename, accept) {
  const response = await request(path, {accept});
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = Object.assign(document.createElement("a"), {href: url, download: filename});
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return response;
}
