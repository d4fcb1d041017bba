// The Indicator page (#/ioc/<id>) and the Lookup page (#/lookup?value=...).
//
// An indicator's page joins GET /api/v1/iocs/{id} (the record, every source, the score explained)
// with GET /api/v1/lookup (its hunting queries). A lookup that finds the value already holds both,
// so it draws the indicator's page from its own answer and only rewrites the address.

import {ApiError, getJson} from "./api.js";
import {
  badge, chips, copyButton, defangedDisplay, fmtNumber, fmtTime, h, pageTitle, s, safeLink, shownValue,
} from "./dom.js";

const ATTACK_URL = "https://attack.mitre.org/techniques/";

async function loadIndicator(id) {
  const record = (await getJson(`/api/v1/iocs/${encodeURIComponent(id)}`)).data;
  let hunting = null;
  try {
    const params = new URLSearchParams({value: record.value, type: record.type});
    hunting = (await getJson("/api/v1/lookup", params)).data.hunting_queries;
  } catch (error) {
    if (!(error instanceof ApiError) || error.status === 401) throw error;
    hunting = {error: error.message};  // the rest of the page is still worth showing
  }
  return {...record, hunting_queries: hunting};
}

export async function renderIndicator({parts}) {
  return indicatorPage(await loadIndicator(parts[0] || ""));
}

/** The score, drawn as a waterfall: strongest source, + corroboration, x age decay, = score. */
function scoreChart(b) {
  const round = (n) => Math.round(n * 10) / 10;
  const rows = [  // label, bar from, bar to, kind, value shown
    ["Strongest source", 0, b.strongest_reliability, "", `${b.strongest_reliability}`],
    ["+ corroboration", b.strongest_reliability, b.base, "", `+${round(b.corroboration)}`],
    [`× decay ${Number(b.decay_factor.toPrecision(4))}`, b.score, b.base, "minus", `−${round(b.base - b.score)}`],
    ["= score", 0, b.score, "", `${b.score}`],
  ];
  const labelWidth = 130, barWidth = 300, rowHeight = 26;
  const x = (value) => labelWidth + (Math.max(0, Math.min(100, value)) / 100) * barWidth;
  const description = `Score ${b.score} of 100: strongest source reliability ${b.strongest_reliability}, ` +
    `plus ${round(b.corroboration)} for corroboration, times ${b.decay_factor} for age.`;
  return s("svg", {
    class: "chart", role: "img", "aria-label": description, width: "100%",
    viewBox: `0 0 ${labelWidth + barWidth + 50} ${rows.length * rowHeight}`,
  }, rows.map(([label, from, to, kind, text], i) => {
    const y = i * rowHeight;
    return s("g", {"aria-hidden": "true"},
      s("text", {x: 0, y: y + 17}, label),
      s("rect", {class: "track", x: labelWidth, y: y + 5, width: barWidth, height: 16, rx: 2}),
      s("rect", {class: `bar ${kind}`, x: x(from), y: y + 5, width: Math.max(1, x(to) - x(from)), height: 16, rx: 2}),
      s("text", {x: labelWidth + barWidth + 6, y: y + 17}, text));
  }));
}

function sourcesTable(sources) {
  const rows = sources.map((source) => h("tr", {},
    h("td", {}, source.feed_name),
    h("td", {}, source.category),
    h("td", {}, source.origin),
    h("td", {class: "num"}, source.reliability),
    h("td", {}, fmtTime(source.first_seen)),
    h("td", {}, fmtTime(source.last_seen)),
    h("td", {class: "value"}, source.raw_value),
    h("td", {}, source.context || h("span", {class: "muted"}, "–")),
    h("td", {}, source.reference_url ? safeLink(source.reference_url, "reference") : h("span", {class: "muted"}, "–"))));
  return h("div", {class: "table-wrap", role: "region", "aria-label": "Sources table", tabindex: "0"}, h("table", {},
    h("caption", {}, `${sources.length} sighting(s): every source that reported this value`),
    h("thead", {}, h("tr", {}, ["Source", "Category", "Origin", "Reliability", "First seen", "Last seen",
      "As the source wrote it", "Context", "Reference"].map((name) =>
      h("th", {scope: "col", class: name === "Reliability" ? "num" : null}, name)))),
    h("tbody", {}, rows)));
}

function articlesList(sources) {
  const seen = new Map();
  for (const source of sources) {
    if (source.article_id && !seen.has(source.article_id)) seen.set(source.article_id, source);
  }
  if (!seen.size) return h("p", {class: "muted"}, "None recorded: no sighting names an advisory or post.");
  return h("ul", {}, [...seen.values()].map((source) => h("li", {},
    safeLink(source.article_url, source.article_title || source.article_url), " ",
    h("span", {class: "muted"}, `(${source.feed_name})`))));
}

function techniquesList(techniques) {
  if (!techniques || !techniques.length) return h("span", {class: "muted"}, "none");
  return h("ul", {}, techniques.map((technique) => h("li", {},
    safeLink(`${ATTACK_URL}${technique.id.replace(".", "/")}/`, technique.id), " ",
    technique.name || h("span", {class: "muted"}, "(name unknown)"))));
}

export function huntingQueries(queries) {
  if (!queries) return h("p", {class: "muted"}, "None for this type.");
  if (queries.error) return h("p", {class: "muted"}, `Not available: ${queries.error}`);
  const block = (heading, id, text) => [
    h("div", {class: "query-head"}, h("h3", {id}, heading), copyButton(text, `${heading} query`)),
    h("pre", {class: "query", "aria-labelledby": id}, h("code", {}, text)),
  ];
  return h("div", {},
    block("Splunk (SPL)", "query-spl", queries.splunk_spl),
    block("Microsoft Sentinel (KQL)", "query-kql", queries.sentinel_kql));
}

export function indicatorPage(d) {
  const shown = () => shownValue(d.type, d.value);
  const breakdown = d.score_breakdown;
  return h("section", {class: "indicator"},
    h("div", {class: "title-row"}, pageTitle(shown()), copyButton(shown, "value")),
    h("p", {},
      badge(d.type, "muted"), " ", badge(d.status, `status-${d.status}`), " ",
      badge(`${d.confidence} confidence`, `conf-${d.confidence}`),
      defangedDisplay() ? h("span", {class: "muted"}, " · shown defanged") : null),
    d.status_reason ? h("p", {class: "notice"}, `Status reason: ${d.status_reason}`) : null,
    h("div", {class: "columns"},
      h("section", {"aria-labelledby": "facts-title"},
        h("h2", {id: "facts-title"}, "Summary"),
        h("dl", {class: "facts"},
          h("dt", {}, "Score"), h("dd", {}, `${d.score} of 100 (${d.confidence})`),
          h("dt", {}, "First seen"), h("dd", {}, fmtTime(d.first_seen)),
          h("dt", {}, "Last seen"), h("dd", {}, fmtTime(d.last_seen)),
          h("dt", {}, "Updated"), h("dd", {}, fmtTime(d.updated_at)),
          h("dt", {}, "Sources"), h("dd", {}, fmtNumber(d.source_count)),
          h("dt", {}, "Context"), h("dd", {}, d.context || h("span", {class: "muted"}, "–")),
          h("dt", {}, "Id"), h("dd", {}, h("code", {}, d.id)))),
      h("section", {"aria-labelledby": "score-title"},
        h("h2", {id: "score-title"}, "How the score was made"),
        breakdown ? [scoreChart(breakdown), h("p", {class: "help"}, breakdown.explanation)] : "–")),
    h("h2", {}, "Sources"),
    sourcesTable(d.sources || []),
    h("div", {class: "columns"},
      h("section", {}, h("h2", {}, "Tags"), chips(d.tags, "Tags")),
      h("section", {}, h("h2", {}, "Sectors"), chips(d.industries, "Sectors")),
      h("section", {}, h("h2", {}, "ATT&CK techniques"), techniquesList(d.mitre_technique_names))),
    h("h2", {}, "Articles it came from"),
    articlesList(d.sources || []),
    h("h2", {}, "Hunting queries"),
    huntingQueries(d.hunting_queries));
}

function notKnownPage(entered, answer) {
  return h("section", {},
    pageTitle("Not known"),
    h("p", {class: "notice strong"},
      h("strong", {}, "Not known is not the same as safe. "),
      "None of the sources this server collects has reported this value. It may still be malicious."),
    h("dl", {class: "facts"},
      h("dt", {}, "You entered"), h("dd", {class: "value"}, entered),
      h("dt", {}, "Read as"), h("dd", {}, h("code", {}, answer.type), " ", h("span", {class: "value"}, shownValue(answer.type, answer.value)))),
    h("h2", {}, "Hunting queries"),
    h("p", {class: "help"}, "Search your own logs for it anyway:"),
    huntingQueries(answer.hunting_queries));
}

function notAnIndicatorPage(entered, error) {
  return h("section", {},
    pageTitle("Not an indicator"),
    h("p", {class: "notice"}, `“${entered}” is not a value iocfeed can look up. ${error.message}`),
    h("p", {}, "Lookups take IPv4 and IPv6 addresses, domains, URLs, MD5, SHA-1, SHA-256 and SHA-512 hashes, " +
      "CVE ids, ATT&CK technique ids and e-mail addresses, defanged (hxxp://evil[.]com) or not."));
}

export async function renderLookup({params}) {
  const entered = (params.get("value") || "").trim();
  if (!entered) {
    return h("section", {}, pageTitle("Look up"), h("p", {}, "Type or paste a value in the lookup box at the top of the page."));
  }
  let answer;
  try {
    answer = (await getJson("/api/v1/lookup", new URLSearchParams({value: entered}))).data;
  } catch (error) {
    if (error instanceof ApiError && error.status === 400) return notAnIndicatorPage(entered, error);
    throw error;
  }
  if (!answer.found) return notKnownPage(entered, answer);
  // Land on the indicator's own address without a second request (no hashchange is fired).
  history.replaceState(null, "", `#/ioc/${encodeURIComponent(answer.id)}`);
  return indicatorPage(answer);
}
