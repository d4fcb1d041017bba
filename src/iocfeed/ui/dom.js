// Small DOM helpers shared by every page.
//
// Everything the console shows is built with h() and s(): text always goes in as text nodes, never
// as HTML, because indicator values, contexts and titles come from feeds, that is from attackers.

const SVG_NS = "http://www.w3.org/2000/svg";

function build(element, attrs, children) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (value === true) {
      element.setAttribute(name, "");
    } else {
      element.setAttribute(name, String(value));
    }
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

/** An HTML element: h("a", {href: "#/feed", class: "x"}, "text", otherNode). */
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** An SVG element, for the charts drawn in the browser. */
export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

/** A link only for http(s) addresses: a feed could name a javascript: or data: URL. */
export function safeLink(url, text) {
  if (typeof url !== "string" || !/^https?:\/\//i.test(url)) return text ?? url ?? "";
  return h("a", {href: url, rel: "noopener noreferrer nofollow", target: "_blank"}, text ?? url);
}

const numberFormat = new Intl.NumberFormat("en-US");
export const fmtNumber = (n) => (n === null || n === undefined ? "–" : numberFormat.format(n));

/** "2026-11-28 10:15 UTC" in a <time> whose title keeps the exact instant. */
export function fmtTime(iso) {
  if (!iso) return h("span", {class: "muted"}, "never");
  const text = iso.replace("T", " ").replace(/:\d\d(\.\d+)?Z$/, " UTC");
  return h("time", {datetime: iso, title: iso, class: "nowrap"}, text);
}

/** How long ago, in the largest unit that fits ("3 h ago"), for last runs and last use. */
export function fmtAgo(iso) {
  if (!iso) return "never";
  const seconds = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (seconds < 90) return "just now";
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["min", 60]]) {
    if (seconds >= size) return `${Math.floor(seconds / size)} ${unit} ago`;
  }
  return "just now";
}

/**
 * The value in a form that neither a mail client nor a chat turns into a live link:
 * hxxp://evil[.]com/path, 203.0.113[.]7, user[@]example[.]com.
 */
export function defang(type, value) {
  const dots = (text) => text.replaceAll(".", "[.]");
  if (type === "domain" || type === "ipv4") return dots(value);
  if (type === "ipv6") return value.replaceAll(":", "[:]");
  if (type === "email") {
    const at = value.lastIndexOf("@");
    return at < 0 ? dots(value) : `${value.slice(0, at)}[@]${dots(value.slice(at + 1))}`;
  }
  if (type === "url") {
    const match = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)(.*)$/i.exec(value);
    if (!match) return dots(value);
    const scheme = match[1].replace(/^http/i, "hxxp").replace(/^ftp/i, "fxp");
    return `${scheme}://${dots(match[2])}${match[3]}`;
  }
  return value;  // hashes, CVE and ATT&CK ids are not clickable anywhere
}

// The "show values defanged" choice holds for the whole tab (it is not a secret).
const DEFANG_SETTING = "iocfeed.defanged";
export const defangedDisplay = () => sessionStorage.getItem(DEFANG_SETTING) === "1";
export const setDefangedDisplay = (on) => sessionStorage.setItem(DEFANG_SETTING, on ? "1" : "0");
export const shownValue = (type, value) => (defangedDisplay() ? defang(type, value) : value);

/** Polite status messages and assertive errors, both in live regions that exist from page load. */
export function announce(message) {
  document.getElementById("status").textContent = message;
}
export function showError(message) {
  document.getElementById("alert").textContent = message;
}
export function clearMessages() {
  announce("");
  showError("");
}

async function writeClipboard(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // No async clipboard (plain http on a non-local host) or no permission: the old way.
    const area = h("textarea", {readonly: true, "aria-hidden": "true", class: "offscreen"});
    area.value = text;
    document.body.append(area);
    area.select();
    const done = document.execCommand("copy");
    area.remove();
    return done;
  }
}

/** A button that copies `text()` (a function, so it copies what is shown at the time of the click). */
export function copyButton(text, what) {
  return h("button", {
    type: "button",
    class: "copy",
    "aria-label": `Copy ${what}`,
    onclick: async () => {
      const copied = await writeClipboard(typeof text === "function" ? text() : text);
      announce(copied ? `Copied ${what}.` : `Could not copy ${what}; select it and copy by hand.`);
    },
  }, "Copy");
}

export const chips = (items, label) =>
  items && items.length
    ? h("ul", {class: "chips", "aria-label": label}, items.map((item) => h("li", {}, item)))
    : h("span", {class: "muted"}, "none");

export const badge = (text, kind) => h("span", {class: `badge ${kind}`}, text);

export function pageTitle(text, ...extra) {
  document.title = `${text} · iocfeed`;
  return h("h1", {tabindex: "-1"}, text, ...extra);
}
