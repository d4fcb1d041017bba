// The console's entry point: hash routing, the session, the header (navigation, lookup, sign-out).
//
// Routes live in the URL fragment (#/feed?type=ipv4, #/ioc/<id>, #/lookup?value=..., #/feeds,
// #/keys, #/signin), so the console is one static page and the fragment never reaches a server.

import {explain, forgetKey, getJson, storedKey, whenSignedOut} from "./api.js";
import {announce, clearMessages, h, showError} from "./dom.js";
import {renderFeed} from "./feed.js";
import {renderFeeds} from "./feeds.js";
import {renderIndicator, renderLookup} from "./indicator.js";
import {renderKeys} from "./keys.js";
import {renderSignIn} from "./signin.js";

const PAGES = {
  feed: renderFeed,
  ioc: renderIndicator,
  lookup: renderLookup,
  feeds: renderFeeds,
  keys: renderKeys,
};

const main = document.getElementById("main");
let session = null;       // {account, key_id, tier}: from GET /ui/session, once per page load
let renderCount = 0;      // a slow page must not replace the one the user has moved on to
let firstRender = true;
let statusAfterRender = "";  // a message for the page about to be shown (after sign-out, say)

function parseHash() {
  const raw = location.hash.startsWith("#/") ? location.hash.slice(2) : "feed";
  const [path, query = ""] = raw.split(/\?(.*)/s);
  const parts = path.split("/").map((part) => decodeURIComponent(part));
  return {name: parts[0] || "feed", parts: parts.slice(1), params: new URLSearchParams(query)};
}

/** Go to a route; the same route again re-renders it (a "Look up" of the same value, say). */
export function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function showChrome(signedIn) {
  for (const id of ["nav", "lookup-form", "session"]) document.getElementById(id).hidden = !signedIn;
  document.getElementById("session-label").textContent = signedIn && session
    ? `${session.account} · ${session.tier.name} tier`
    : "";
}

function markCurrentNav(name) {
  const section = name === "ioc" || name === "lookup" ? "feed" : name;
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.route === section) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function signOut(message) {
  forgetKey();
  session = null;
  showChrome(false);
  // Back to the sign-in form, which will return here afterwards.
  const back = location.hash.startsWith("#/signin") ? "#/feed" : location.hash || "#/feed";
  mount(renderSignIn({next: back, onSignedIn}), true);
  if (message) showError(message);
}

function onSignedIn(newSession, next) {
  session = newSession;
  clearMessages();
  go(next && !next.startsWith("#/signin") ? next : "#/feed");
}

function mount(node, focus) {
  main.replaceChildren(node);
  main.removeAttribute("aria-busy");
  if (focus) (main.querySelector("h1") || main).focus();
}

async function route() {
  const ticket = ++renderCount;
  const focus = !firstRender;  // moving focus on first load would skip the page's header
  firstRender = false;
  clearMessages();
  if (statusAfterRender) announce(statusAfterRender);
  statusAfterRender = "";
  const where = parseHash();
  if (!storedKey()) {
    showChrome(false);
    const next = where.name === "signin" ? "#/feed" : location.hash;
    mount(renderSignIn({next, onSignedIn}), focus);
    return;
  }
  if (where.name === "signin") {
    go("#/feed");
    return;
  }
  main.setAttribute("aria-busy", "true");
  try {
    if (!session) session = (await getJson("/ui/session")).data;
    showChrome(true);
    markCurrentNav(where.name);
    const page = PAGES[where.name];
    const node = page
      ? await page({...where, session, go, signOut, isCurrent: () => ticket === renderCount})
      : notFound(where.name);
    if (ticket === renderCount) mount(node, focus);
  } catch (error) {
    if (ticket !== renderCount || !storedKey()) return;  // moved on, or signed out by a 401
    mount(h("section", {}, h("h1", {tabindex: "-1"}, "This page could not be loaded"),
      h("p", {}, explain(error))), focus);
    showError(explain(error));
  }
}

function notFound(name) {
  return h("section", {}, h("h1", {tabindex: "-1"}, "No such page"),
    h("p", {}, `The console has no page called “${name}”. `, h("a", {href: "#/feed"}, "Go to the feed.")));
}

// A 401 on any request made with the stored key: the key was revoked or expired under us.
whenSignedOut((error) => signOut(`Signed out: ${explain(error)}`));

document.getElementById("sign-out").addEventListener("click", () => {
  forgetKey();
  session = null;
  statusAfterRender = "Signed out. The key was removed from this tab.";
  go("#/signin");
});

document.getElementById("lookup-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const value = document.getElementById("lookup-value").value.trim();
  if (value) go(`#/lookup?${new URLSearchParams({value})}`);
});

// The skip link's #main would be read as a route; move focus by hand instead.
document.getElementById("skip-link").addEventListener("click", (event) => {
  event.preventDefault();
  (main.querySelector("h1") || main).focus();
});

window.addEventListener("hashchange", () => route());
route();
