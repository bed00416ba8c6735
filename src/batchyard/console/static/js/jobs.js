// The jobs list: DescribeJobs with the user's filters, newest first, refreshed while on screen.

import { INSTANCE_STATES, badge, counts, el, table, time } from "./dom.js";

const PAGE = 20;

function jobLink(job) {
  return el("a", { href: `#/jobs/${encodeURIComponent(job.JobId)}`, class: "job-link" }, job.JobId);
}

const COLUMNS = [
  ["Job", jobLink],
  ["Name", (job) => job.JobName],
  ["State", (job) => badge(job.JobState)],
  ["Tasks", (job) => counts(job.TaskMetrics)],
  ["Priority", (job) => String(job.Priority)],
  ["Created", (job) => time(job.CreateTime)],
  ["Ended", (job) => time(job.EndTime)],
];

function request(query) {
  const filters = [];
  if (query.get("state")) filters.push({ Name: "job-state", Values: [query.get("state")] });
  if (query.get("name")) filters.push({ Name: "job-name", Values: [query.get("name")] });
  const params = { Offset: Number(query.get("offset") || 0), Limit: PAGE };
  return filters.length ? { ...params, Filters: filters } : params;
}

/** Filters live in the address (#/jobs?state=…&name=…), so a filtered list can be bookmarked. */
function go(query) {
  const text = query.toString();
  location.hash = text ? `#/jobs?${text}` : "#/jobs";
}

function filterForm(query) {
  const state = el("select", { name: "state", "aria-label": "State" },
    el("option", { value: "" }, "Any state"),
    INSTANCE_STATES.map((s) => el("option", { value: s, selected: query.get("state") === s }, s)));
  const name = el("input", {
    name: "name", "aria-label": "Job name", placeholder: "Job name (exact)", value: query.get("name") || "",
  });
  const form = el("form", { class: "filters" }, state, name,
    el("button", { type: "submit" }, "Filter"),
    el("button", { type: "button", onclick: () => go(new URLSearchParams()) }, "Clear"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    if (state.value) next.set("state", state.value);
    if (name.value.trim()) next.set("name", name.value.trim());
    go(next);
  });
  return form;
}

function pager(query, total) {
  const offset = Number(query.get("offset") || 0);
  const move = (to) => () => {
    const next = new URLSearchParams(query);
    if (to > 0) next.set("offset", String(to));
    else next.delete("offset");
    go(next);
  };
  const [newer, older] = [move(Math.max(0, offset - PAGE)), move(offset + PAGE)];
  const shown = total ? `${offset + 1}–${Math.min(offset + PAGE, total)} of ${total}` : "No jobs";
  return el("div", { class: "pager" },
    el("button", { type: "button", disabled: offset <= 0, onclick: newer }, "Newer"),
    el("span", { class: "shown" }, shown),
    el("button", { type: "button", disabled: offset + PAGE >= total, onclick: older }, "Older"));
}

export function jobsView(root, view, query) {
  document.title = "Jobs · batchyard";
  const listing = el("div", { class: "listing" });
  root.append(el("div", { class: "title-row" }, el("h1", {}, "Jobs"), filterForm(query)), listing);
  const params = request(query);
  view.poll("DescribeJobs", async () => {
    const reply = await view.call("DescribeJobs", params);
    if (!view.active) return;
    listing.replaceChildren(
      table(COLUMNS, reply.JobSet, { class: "jobs" }, (job) => ({ "data-job-id": job.JobId })),
      pager(query, reply.TotalCount));
  });
}
