// The Feed page: GET /api/v1/iocs with every filter as a form control, cursor paging, exports.
//
// The filters live in the route (#/feed?type=ipv4&confidence=high), so a filtered view can be
// bookmarked or shared; the cursors of the pages seen so far are a stack in memory (next pushes
// meta.next_cursor, previous pops), because a cursor is only valid for the filters it came from.

import {ApiError, download, explain, getJson} from "./api.js";
import {
  announce, badge, chips, copyButton, defangedDisplay, fmtNumber, fmtTime, h, pageTitle,
  setDefangedDisplay, showError, shownValue,
} from "./dom.js";

const TYPES = ["ipv4", "ipv6", "domain", "url", "md5", "sha1", "sha256", "sha512", "cve", "mitre-attack", "email"];
const CONFIDENCES = ["high", "medium", "low"];
const CATEGORIES = ["government", "commercial", "community"];
export const SECTORS = [
  "chemical", "commercial-facilities", "communications", "critical-manufacturing", "dams",
  "defense-industrial-base", "emergency-services", "energy", "financial-services", "food-and-agriculture",
  "government-facilities", "healthcare", "information-technology", "nuclear", "transportation", "water",
];
const STATUSES = ["active", "expired", "false-positive", "revoked", "all"];
const SORTS = [
  ["-updated_at", "Recently updated first"], ["updated_at", "Least recently updated first"],
  ["-first_seen", "Newest first seen"], ["first_seen", "Oldest first seen"],
  ["-last_seen", "Most recently seen"], ["last_seen", "Least recently seen"],
];
const PAGE_SIZES = ["25", "50", "100"];
const DEFAULT_PAGE_SIZE = "50";
const FILTER_NAMES = ["type", "confidence", "min_confidence", "category", "industry", "since", "status", "sort", "limit"];

const title = (slug) => slug.replaceAll("-", " ").replace(/^./, (c) => c.toUpperCase());

/** The API parameters in the route, known names only, with the console's page size. */
function filtersFrom(params) {
  const filters = new URLSearchParams();
  for (const name of FILTER_NAMES) {
    const value = params.get(name);
    if (value) filters.set(name, value);
  }
  if (!filters.has("limit")) filters.set("limit", DEFAULT_PAGE_SIZE);
  return filters;
}

function checkboxes(legend, name, options, chosen, width = "wide") {
  const picked = new Set((chosen || "").split(",").filter(Boolean));
  return h("fieldset", {class: width}, h("legend", {}, legend),
    h("div", {class: "checks"}, options.map((option) =>
      h("label", {}, h("input", {type: "checkbox", name, value: option, checked: picked.has(option)}), ` ${option}`))));
}

function select(label, name, options, chosen, help) {
  const id = `filter-${name}`;
  const control = h("select", {id, name, "aria-describedby": help ? `${id}-help` : null},
    options.map(([value, text]) => h("option", {value, selected: value === (chosen || "")}, text)));
  return h("div", {class: "field"}, h("label", {for: id}, label), control,
    help ? h("p", {id: `${id}-help`, class: "help"}, help) : null);
}

// <input type=datetime-local> speaks "2026-11-28T10:15"; the API speaks RFC 3339. Both UTC here.
const toLocalInput = (iso) => (/^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(iso || "") ? iso.slice(0, 16) : "");
const fromLocalInput = (value) => (value ? `${value}:00Z` : "");

function filterForm(filters, session, go) {
  const any = [["", "any"]];
  const sinceHelp = `UTC. This key's tier looks back ${session.tier.lookback_days} day(s): an earlier time is moved up.`;
  const form = h("form", {class: "filters", "aria-label": "Filters"},
    checkboxes("Type", "type", TYPES, filters.get("type")),
    checkboxes("Confidence", "confidence", CONFIDENCES, filters.get("confidence"), "half"),
    checkboxes("Source category (any of its sources)", "category", CATEGORIES, filters.get("category"), "half"),
    select("Confidence at least", "min_confidence", any.concat([["low", "low"], ["medium", "medium"], ["high", "high"]]),
      filters.get("min_confidence")),
    select("Sector", "industry", any.concat(SECTORS.map((s) => [s, title(s)])), filters.get("industry")),
    select("Status", "status", STATUSES.map((s) => [s === "active" ? "" : s, s === "active" ? "active (default)" : s]),
      filters.get("status")),
    select("Order", "sort", [["", "Default (newest updates first)"], ...SORTS], filters.get("sort"),
      "With a time below, the default is oldest first."),
    select("Per page", "limit", PAGE_SIZES.map((n) => [n, n]), filters.get("limit")),
    h("div", {class: "field"},
      h("label", {for: "filter-since"}, "Added or updated after"),
      h("input", {id: "filter-since", name: "since", type: "datetime-local", value: toLocalInput(filters.get("since")),
        "aria-describedby": "filter-since-help"}),
      h("p", {id: "filter-since-help", class: "help"}, sinceHelp)),
    h("div", {class: "actions wide"},
      h("button", {type: "submit"}, "Apply filters"),
      h("button", {type: "button", class: "secondary", onclick: () => go("#/feed")}, "Reset")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const chosen = new URLSearchParams();
    for (const name of ["type", "confidence", "category"]) {
      const values = data.getAll(name);
      if (values.length) chosen.set(name, values.join(","));
    }
    for (const name of ["min_confidence", "industry", "status", "sort", "limit"]) {
      if (data.get(name)) chosen.set(name, data.get(name));
    }
    const since = fromLocalInput(data.get("since"));
    if (since) chosen.set("since", since);
    go(`#/feed?${chosen}`);
  });
  return form;
}

function indicatorRow(record) {
  const shown = () => shownValue(record.type, record.value);
  const source = record.source;
  return h("tr", {},
    h("td", {}, h("div", {class: "value-cell"},
      h("a", {href: `#/ioc/${encodeURIComponent(record.id)}`, class: "value"}, shown()),
      copyButton(shown, `value ${record.value.slice(0, 80)}`))),
    h("td", {}, h("code", {}, record.type)),
    h("td", {class: "nowrap"}, badge(record.confidence, `conf-${record.confidence}`), ` ${record.score}`),
    h("td", {}, source ? [source.feed_name, h("br"), h("span", {class: "muted"}, source.category)] : "–",
      record.source_count > 1 ? h("span", {class: "muted"}, ` +${record.source_count - 1} more`) : null),
    h("td", {}, chips(record.industries, "Sectors")),
    h("td", {}, fmtTime(record.last_seen)),
    h("td", {}, fmtTime(record.updated_at)));
}

const EXPORTS = {
  csv: {label: "CSV", path: "/api/v1/iocs", accept: "text/csv", list: true},
  txt: {label: "TXT (one value per line)", path: "/api/v1/iocs", accept: "text/plain", list: true},
  stix: {label: "STIX 2.1", path: "/api/v1/iocs/stix", accept: "application/json", list: false, file: "stix.json"},
};

function exportControls(filters, session) {
  const tier = session.tier;
  const allowed = (kind) => (EXPORTS[kind].list ? tier.formats.includes(kind) : tier.exports);
  const kinds = Object.keys(EXPORTS).filter(allowed);
  const missing = Object.keys(EXPORTS).filter((kind) => !allowed(kind)).map((kind) => EXPORTS[kind].label.split(" ")[0]);
  const tierNote = missing.length
    ? h("p", {class: "notice", id: "export-tier-note"},
      `${missing.join(", ")} export${missing.length > 1 ? "s need" : " needs"} the pro tier; this key's account is on the ${tier.name} tier. `,
      "The feed itself is available here and as JSON through the API.")
    : null;
  async function run(kind) {
    const spec = EXPORTS[kind];
    const params = new URLSearchParams(filters);
    params.delete("limit");
    if (spec.list) {
      params.set("format", kind);
      params.set("limit", String(tier.max_limit));
    }
    const stamp = new Date().toISOString().slice(0, 10);
    announce(`Preparing the ${spec.label} download…`);
    try {
      const response = await download(`${spec.path}?${params}`, `iocfeed-${stamp}.${spec.file || kind}`, spec.accept);
      const total = response.headers.get("X-Total-Count");
      const more = response.headers.get("X-Next-Cursor");
      announce(more
        ? `Downloaded the first ${fmtNumber(tier.max_limit)} of ${fmtNumber(Number(total))} indicators as ${spec.label}. ` +
          "For all of them, follow the cursor through the API or use iocfeed pull."
        : `Downloaded ${total ? `${fmtNumber(Number(total))} indicators` : "the export"} as ${spec.label}.`);
    } catch (error) {
      showError(error instanceof ApiError && error.code === "tier_required"
        ? `${error.message} Ask for a pro key to download exports.` : explain(error));
    }
  }
  const buttons = kinds.map((kind) =>
    h("button", {type: "button", class: "secondary", onclick: () => run(kind)}, EXPORTS[kind].label));
  return h("div", {class: "exports"},
    buttons.length ? h("div", {class: "actions", role: "group", "aria-label": "Download these filters"},
      h("span", {class: "muted"}, "Download these filters:"), buttons) : null,
    tierNote);
}

export async function renderFeed({params, session, go}) {
  const filters = filtersFrom(params);
  const cursors = [null];  // cursors[i] fetches page i
  let body = null;         // the page shown, re-drawn when the defanged display is switched

  const caption = h("span", {});
  const tbody = h("tbody", {});
  const previous = h("button", {type: "button", class: "secondary", disabled: true}, "Previous page");
  const next = h("button", {type: "button", class: "secondary", disabled: true}, "Next page");
  const position = h("span", {class: "muted", "aria-live": "off"});
  const heads = ["Value", "Type", "Confidence", "Source", "Sectors", "Last seen", "Updated"];
  const results = h("div", {class: "table-wrap", role: "region", "aria-label": "Indicators", tabindex: "0"}, h("table", {},
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, heads.map((name) => h("th", {scope: "col"}, name)))),
    tbody));

  function draw() {
    const {meta, data} = body;
    const page = cursors.length;
    const first = (page - 1) * meta.limit + 1;
    const summary = data.length
      ? `${fmtNumber(meta.total)} indicators; page ${page} shows ${fmtNumber(first)}–${fmtNumber(first + data.length - 1)}`
      : `${fmtNumber(meta.total)} indicators match; nothing on this page`;
    caption.textContent = summary;
    position.textContent = `Page ${page}`;
    tbody.replaceChildren(...data.map(indicatorRow));
    if (!data.length) tbody.append(h("tr", {}, h("td", {colspan: heads.length}, "No indicators match these filters.")));
    previous.disabled = page === 1;
    next.disabled = !meta.next_cursor;
    return summary;
  }

  async function load(cursor) {
    const query = new URLSearchParams(filters);
    if (cursor) query.set("cursor", cursor);
    body = await getJson("/api/v1/iocs", query);
    return draw();
  }

  async function turn(forward, button) {
    const before = cursors.slice();
    if (forward) cursors.push(body.meta.next_cursor);
    else cursors.pop();
    try {
      announce(`${await load(cursors[cursors.length - 1])}.`);
    } catch (error) {
      cursors.splice(0, cursors.length, ...before);
      showError(explain(error));
    }
    if (button.disabled) (forward ? previous : next).focus();  // focus must not fall to the page
  }
  next.addEventListener("click", () => turn(true, next));
  previous.addEventListener("click", () => turn(false, previous));

  const defanged = h("input", {id: "defanged", type: "checkbox", checked: defangedDisplay()});
  defanged.addEventListener("change", () => {
    setDefangedDisplay(defanged.checked);
    if (body) draw();
    announce(defanged.checked ? "Values are shown defanged." : "Values are shown as they are.");
  });

  let problem = null;
  try {
    await load(null);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 400) throw error;
    problem = h("p", {class: "notice strong"}, `These filters were refused: ${explain(error)}`);
  }

  return h("section", {},
    pageTitle("Feed"),
    h("p", {class: "muted"}, "Indicators as GET /api/v1/iocs serves them: one record per value, however many sources reported it."),
    // Open on wide screens; on a phone the filters would push the results off the first screen.
    h("details", {open: matchMedia("(min-width: 40rem)").matches || params.size > 0},
      h("summary", {}, "Filters"), filterForm(filters, session, go)),
    problem,
    h("div", {class: "toolbar"},
      h("label", {for: "defanged"}, defanged, " Show values defanged (hxxp, [.])"),
      exportControls(filters, session)),
    problem ? null : results,
    problem ? null : h("nav", {class: "pager", "aria-label": "Pages"}, previous, position, next));
}
