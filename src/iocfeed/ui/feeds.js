// The Sources page: GET /api/v1/feeds, and one server-drawn SVG document holding a sparkline of
// indicators per day for every source (GET /ui/feeds/sparklines.svg), fetched with the key and
// inlined so the charts take the page's colours.

import {explain, request, getJson} from "./api.js";
import {badge, fmtAgo, fmtNumber, fmtTime, h, pageTitle} from "./dom.js";

const SPARKLINE_DAYS = 30;

/** source name -> its <svg>, parsed as XML (never as HTML, and no script runs in it). */
async function loadSparklines() {
  const response = await request(`/ui/feeds/sparklines.svg?days=${SPARKLINE_DAYS}`, {accept: "image/svg+xml"});
  const document_ = new DOMParser().parseFromString(await response.text(), "image/svg+xml");
  const charts = new Map();
  for (const chart of document_.querySelectorAll("svg[data-source]")) {
    chart.removeAttribute("y");  // its place in the standalone document; meaningless inline
    charts.set(chart.getAttribute("data-source"), chart);
  }
  return charts;
}

function sparklineCell(name, charts) {
  if (charts instanceof Error) return h("span", {class: "muted"}, "unavailable");
  const chart = charts.get(name);
  if (!chart) return h("span", {class: "muted"}, "no data yet");
  return h("div", {class: "spark-cell"}, document.importNode(chart, true),
    h("span", {class: "muted"}, fmtNumber(Number(chart.getAttribute("data-total")))));
}

function feedRow(feed, charts) {
  return h("tr", {},
    h("th", {scope: "row"}, feed.name, feed.enabled ? null : h("span", {class: "muted"}, " (disabled)")),
    h("td", {}, feed.category),
    h("td", {}, feed.origin),
    h("td", {class: "num"}, feed.reliability),
    h("td", {}, feed.last_run_at ? [fmtAgo(feed.last_run_at), h("br"), fmtTime(feed.last_run_at)] : h("span", {class: "muted"}, "never")),
    h("td", {}, badge(feed.health, `health-${feed.health}`)),
    h("td", {class: "num"}, fmtNumber(feed.indicator_count)),
    h("td", {}, sparklineCell(feed.name, charts)));
}

export async function renderFeeds() {
  const [feeds, charts] = await Promise.all([
    getJson("/api/v1/feeds"),
    loadSparklines().catch((error) => new Error(explain(error))),  // the table is still worth showing
  ]);
  const byHealth = {};
  for (const feed of feeds.data) byHealth[feed.health] = (byHealth[feed.health] || 0) + 1;
  const healthSummary = Object.entries(byHealth).map(([health, count]) => `${count} ${health}`).join(", ");
  const heads = ["Source", "Category", "Origin", "Reliability", "Last run", "Health", "Indicators",
    `New indicators per day, last ${SPARKLINE_DAYS} days`];
  return h("section", {},
    pageTitle("Sources"),
    h("p", {class: "muted"}, `${feeds.data.length} sources: ${healthSummary || "none yet"}. ` +
      "Degraded: the last run failed or a feed suddenly listed nothing; error: three failures in a row."),
    charts instanceof Error ? h("p", {class: "notice"}, `The activity charts could not be loaded: ${charts.message}`) : null,
    h("div", {class: "table-wrap", role: "region", "aria-label": "Sources table", tabindex: "0"}, h("table", {},
      h("caption", {}, "Every configured source, its last run and health, and how many indicators it added each day"),
      h("thead", {}, h("tr", {}, heads.map((name) =>
        h("th", {scope: "col", class: name === "Reliability" || name === "Indicators" ? "num" : null}, name)))),
      h("tbody", {}, feeds.data.map((feed) => feedRow(feed, charts))))));
}
