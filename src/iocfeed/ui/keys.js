// The Keys page: the account's keys (GET /api/v1/keys), the tier's limits (GET /ui/session), a new
// key (POST, shown once), revocation behind a confirmation (DELETE), and each key's usage
// (GET /api/v1/keys/{id}/usage), loaded when its row is opened: a free key has 10 requests a minute.

import {ApiError, explain, getJson, request, sendJson} from "./api.js";
import {announce, badge, copyButton, fmtAgo, fmtNumber, fmtTime, h, pageTitle, s, showError} from "./dom.js";

const USAGE_DAYS = 14;
const EXPIRY_CHOICES = [["30", "30 days"], ["90", "90 days"], ["180", "180 days"], ["365", "1 year"], ["", "Never"]];
const MIX = [["ok", "OK (2xx/3xx)"], ["client_errors", "Client errors (4xx)"], ["rate_limited", "Rate-limited (429)"],
  ["server_errors", "Server errors (5xx)"]];

const perUnit = (n, unit) => (n === null || n === undefined ? `unlimited per ${unit}` : `${fmtNumber(n)} per ${unit}`);

function tierFacts(tier, meta) {
  return h("dl", {class: "facts"},
    h("dt", {}, "Tier"), h("dd", {}, tier.name),
    h("dt", {}, "Keys"), h("dd", {}, `${meta.active} active of ${meta.quota} allowed`),
    h("dt", {}, "Requests"), h("dd", {}, `${perUnit(tier.requests_per_minute, "minute")}, ${perUnit(tier.requests_per_day, "day")} (each key)`),
    h("dt", {}, "Results per request"), h("dd", {}, fmtNumber(tier.max_limit)),
    h("dt", {}, "Lookback of since"), h("dd", {}, `${tier.lookback_days} day(s)`),
    h("dt", {}, "List formats"), h("dd", {}, tier.formats.join(", ")),
    h("dt", {}, "Exports, TAXII, stats"), h("dd", {}, tier.exports ? "yes" : "no (pro tier)"));
}

/** Requests per day as columns, and the status mix as one stacked bar, both with text equivalents. */
function usageView(usage) {
  const peak = Math.max(1, ...usage.daily.map((d) => d.requests));
  const width = usage.daily.length * 12;
  const perDay = s("svg", {class: "chart", role: "img", width, height: 48, viewBox: `0 0 ${width} 48`,
    "aria-label": `Requests per day, last ${usage.days} days: ` + usage.daily.map((d) => `${d.day} ${d.requests}`).join(", ")},
  usage.daily.map((d, i) => {
    const height = d.requests ? Math.max(2, (d.requests / peak) * 46) : 1;
    return s("rect", {class: d.requests ? "bar" : "track", x: i * 12, y: 48 - height, width: 9, height},
      s("title", {}, `${d.day}: ${d.requests} requests`));
  }));
  const total = usage.totals.requests || 1;
  let offset = 0;
  const mix = s("svg", {class: "chart", width: 300, height: 12, viewBox: "0 0 300 12", "aria-hidden": "true"},
    MIX.map(([name]) => {
      const part = (usage.totals[name] / total) * 300;
      const rect = s("rect", {class: `mix-${name}`, x: offset, y: 0, width: part, height: 12});
      offset += part;
      return rect;
    }));
  const latency = usage.latency_ms;
  return h("div", {class: "usage"},
    h("p", {}, `${fmtNumber(usage.totals.requests)} requests in the last ${usage.days} days`,
      latency.p50 === null ? "" : `; latency p50 ≤ ${latency.p50} ms, p95 ≤ ${latency.p95} ms`),
    perDay,
    h("p", {class: "help"}, "Status mix:"),
    mix,
    h("ul", {class: "legend"}, MIX.map(([name, label]) =>
      h("li", {}, s("svg", {width: 10, height: 10, "aria-hidden": "true"}, s("rect", {class: `mix-${name}`, width: 10, height: 10})),
        ` ${label}: ${fmtNumber(usage.totals[name])}`))));
}

function keyState(key) {
  if (key.revoked_at) return badge("revoked", "status-revoked");
  if (!key.active) return badge("expired", "status-expired");
  return badge("active", "status-active");
}

function confirmRevoke(key) {
  return new Promise((resolve) => {
    const reason = h("input", {id: "revoke-reason", maxlength: 500, autocomplete: "off"});
    const dialog = h("dialog", {"aria-labelledby": "revoke-title", "aria-describedby": "revoke-what"},
      h("form", {method: "dialog"},
        h("h2", {id: "revoke-title"}, `Revoke “${key.name}”?`),
        h("p", {id: "revoke-what"}, `Key ${key.prefix}… stops working at its next request, for every tool that uses it. ` +
          (key.current ? "It is the key this console is signed in with: you will be signed out. " : "") +
          "This cannot be undone."),
        h("div", {class: "field"}, h("label", {for: "revoke-reason"}, "Reason (optional, kept with the key)"), reason),
        h("div", {class: "actions"},
          h("button", {value: "revoke", class: "danger"}, "Revoke key"),
          h("button", {value: "cancel", class: "secondary", autofocus: true}, "Cancel"))));
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "revoke" ? reason.value.trim() || null : undefined);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

function keyRows(key, ctx, reload) {
  const usageCell = h("td", {colspan: 7}, h("span", {class: "muted"}, "Loading usage…"));
  const usageRow = h("tr", {class: "usage-row", hidden: true, id: `usage-${key.id}`}, usageCell);
  let loaded = false;
  const toggle = h("button", {type: "button", class: "secondary", "aria-expanded": "false",
    "aria-controls": `usage-${key.id}`}, "Usage");
  async function showUsage(open) {
    usageRow.hidden = !open;
    toggle.setAttribute("aria-expanded", String(open));
    if (!open || loaded) return;
    loaded = true;
    try {
      const usage = (await getJson(`/api/v1/keys/${encodeURIComponent(key.id)}/usage`, new URLSearchParams({days: USAGE_DAYS}))).data;
      usageCell.replaceChildren(usageView(usage));
    } catch (error) {
      loaded = false;
      usageCell.replaceChildren(explain(error));
    }
  }
  toggle.addEventListener("click", () => showUsage(usageRow.hidden));
  const revoke = key.active ? h("button", {type: "button", class: "danger", onclick: async () => {
    const reason = await confirmRevoke(key);
    if (reason === undefined) {
      revoke.focus();
      return;
    }
    try {
      const query = reason ? `?${new URLSearchParams({reason})}` : "";
      await request(`/api/v1/keys/${encodeURIComponent(key.id)}${query}`, {method: "DELETE"});
      if (key.current) {
        ctx.signOut("You revoked the key this console was signed in with. Sign in with another key.");
        return;
      }
      await reload(`Key “${key.name}” revoked.`);
    } catch (error) {
      showError(explain(error));
    }
  }}, "Revoke") : null;
  const row = h("tr", {},
    h("th", {scope: "row"}, key.name, key.current ? h("span", {class: "muted"}, " (this console)") : null),
    h("td", {}, h("code", {}, `${key.prefix}…`)),
    h("td", {}, keyState(key), key.revoked_reason ? h("div", {class: "help"}, key.revoked_reason) : null),
    h("td", {}, fmtTime(key.created_at)),
    h("td", {}, key.expires_at ? fmtTime(key.expires_at) : "never"),
    h("td", {}, fmtAgo(key.last_used_at)),
    h("td", {}, h("div", {class: "actions"}, toggle, revoke)));
  if (key.current) showUsage(true);
  return [row, usageRow];
}

function createForm(meta, onCreated) {
  const full = meta.active >= meta.quota;
  const name = h("input", {id: "key-name", name: "name", required: true, maxlength: 200, autocomplete: "off"});
  const expiry = h("select", {id: "key-expiry", name: "expires_in_days"},
    EXPIRY_CHOICES.map(([value, label]) => h("option", {value, selected: value === "90"}, label)));
  const submit = h("button", {type: "submit", disabled: full}, "Create key");
  const form = h("form", {class: "filters", "aria-labelledby": "create-title"},
    h("div", {class: "field"}, h("label", {for: "key-name"}, "Name (what uses it: splunk-prod, firewall-1)"), name),
    h("div", {class: "field"}, h("label", {for: "key-expiry"}, "Expires after"), expiry),
    h("div", {class: "actions"}, submit));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!name.value.trim()) {
      showError("Give the key a name, so that you know later what uses it.");
      name.focus();
      return;
    }
    submit.disabled = true;
    try {
      const body = {name: name.value.trim()};
      if (expiry.value) body.expires_in_days = Number(expiry.value);
      const created = (await sendJson("POST", "/api/v1/keys", body)).data;
      await onCreated(created);
    } catch (error) {
      showError(error instanceof ApiError && error.code === "quota_exceeded"
        ? `${error.message} Revoke a key you no longer use first.` : explain(error));
    } finally {
      submit.disabled = full;
    }
  });
  return h("div", {},
    full ? h("p", {class: "notice"}, `This account has ${meta.active} active keys, the ${meta.tier} tier's quota. Revoke one to create another.`) : null,
    form);
}

/** The new key, once: with a copy button, until "Done" (it cannot be shown again). */
function newKeyPanel(created, onDone) {
  const done = h("button", {type: "button", class: "secondary", onclick: () => onDone()}, "Done: I have stored it");
  return h("section", {class: "new-key", "aria-labelledby": "new-key-title"},
    h("h2", {id: "new-key-title", tabindex: "-1"}, `New key “${created.name}”`),
    h("p", {}, h("strong", {}, "Store it now: this is the only time it is shown.")),
    h("p", {class: "value-cell"}, h("code", {id: "new-key-value"}, created.key), copyButton(created.key, "new key")),
    done);
}

export async function renderKeys(ctx) {
  const holder = h("div", {});
  const panelSlot = h("div", {});

  async function reload(message) {
    const keys = await getJson("/api/v1/keys");
    holder.replaceChildren(draw(keys));
    if (message) announce(message);
  }

  function draw(keys) {
    const rows = keys.data.flatMap((key) => keyRows(key, ctx, reload));
    return h("div", {},
      h("h2", {}, "Your tier"),
      tierFacts(ctx.session.tier, keys.meta),
      h("h2", {id: "create-title"}, "Create a key"),
      createForm(keys.meta, async (created) => {
        await reload();
        const panel = newKeyPanel(created, () => {
          panelSlot.replaceChildren();
          announce("The new key is no longer shown.");
          holder.querySelector("#key-name")?.focus();
        });
        panelSlot.replaceChildren(panel);
        panel.querySelector("h2").focus();
        announce(`Key “${created.name}” created. Copy it now; it is shown only once.`);
      }),
      panelSlot,
      h("h2", {}, "Keys of this account"),
      h("div", {class: "table-wrap", role: "region", "aria-label": "Keys table", tabindex: "0"}, h("table", {},
        h("caption", {}, `${keys.data.length} key(s); only a prefix of each is kept readable`),
        h("thead", {}, h("tr", {}, ["Name", "Prefix", "State", "Created", "Expires", "Last used", "Actions"].map((name) =>
          h("th", {scope: "col"}, name)))),
        h("tbody", {}, rows))));
  }

  holder.replaceChildren(draw(await getJson("/api/v1/keys")));
  return h("section", {}, pageTitle("Keys"),
    h("p", {class: "muted"}, `Keys of the account “${ctx.session.account}”. Tools send one in the Authorization header.`),
    holder);
}
