// Compute environments: the list, and one environment's nodes and what happened to them.

import { badge, el, table, time } from "./dom.js";

const NODE_COUNTS = [
  ["SubmittedCount", "SUBMITTED"], ["CreatingCount", "CREATING"], ["CreationFailedCount", "CREATION_FAILED"],
  ["CreatedCount", "CREATED"], ["RunningCount", "RUNNING"], ["DeletingCount", "DELETING"],
  ["AbnormalCount", "ABNORMAL"],
];
const ACTIVITIES_PAGE = 100;

function nodeCounts(metrics) {
  const chips = NODE_COUNTS.filter(([field]) => metrics[field] > 0)
    .map(([field, state]) => el("span", { class: `count state-${state}` }, `${metrics[field]} ${state}`));
  return el("span", { class: "counts" }, chips.length ? chips : "no nodes");
}

const ENV_COLUMNS = [
  ["Environment", (env) => el("a", { href: `#/envs/${encodeURIComponent(env.EnvId)}` }, env.EnvId)],
  ["Name", (env) => env.EnvName],
  ["Zone", (env) => env.Placement.Zone],
  ["Desired nodes", (env) => String(env.DesiredComputeNodeCount)],
  ["Nodes", (env) => nodeCounts(env.ComputeNodeMetrics)],
  ["Next action", (env) => env.NextAction || "—"],
  ["Created", (env) => time(env.CreateTime)],
];

const NODE_COLUMNS = [
  ["Node", (node) => node.ComputeNodeId],
  ["Instance", (node) => node.ComputeNodeInstanceId],
  ["State", (node) => badge(node.ComputeNodeState)],
  ["CPU", (node) => String(node.Cpu)],
  ["Memory (GiB)", (node) => String(node.Mem)],
  ["Free slots", (node) => String(node.TaskInstanceNumAvailable)],
  ["Addresses", (node) => node.PrivateIpAddresses.join(", ") || "—"],
  ["Created", (node) => time(node.ResourceCreatedTime)],
];

const ACTIVITY_COLUMNS = [
  ["Activity", (a) => a.ActivityId],
  ["Node", (a) => a.ComputeNodeId],
  ["Type", (a) => a.ComputeNodeActivityType],
  ["State", (a) => badge(a.ActivityState)],
  ["Cause", (a) => a.Cause],
  ["Reason", (a) => a.StateReason || "—"],
  ["Started", (a) => time(a.StartTime)],
  ["Ended", (a) => time(a.EndTime)],
];

export function envsView(root, view) {
  document.title = "Environments · batchyard";
  const listing = el("div", { class: "listing" });
  root.append(el("h1", {}, "Compute environments"), listing);
  view.poll("DescribeComputeEnvs", async () => {
    const reply = await view.call("DescribeComputeEnvs", { Limit: 100 });
    if (!view.active) return;
    const shown = reply.TotalCount > reply.ComputeEnvSet.length ? `Showing 100 of ${reply.TotalCount}.` : "";
    listing.replaceChildren(
      table(ENV_COLUMNS, reply.ComputeEnvSet, { class: "envs" }, (env) => ({ "data-env-id": env.EnvId })),
      el("p", { class: "shown" }, shown));
  });
}

function envHeader(env) {
  return [
    el("h1", {},
      el("span", { class: "env-name" }, env.EnvName), " ", el("span", { class: "muted" }, env.EnvId)),
    el("dl", { class: "facts inline" },
      el("dt", {}, "Zone"), el("dd", {}, env.Placement.Zone),
      el("dt", {}, "Type"), el("dd", {}, env.EnvType),
      el("dt", {}, "Desired nodes"), el("dd", {}, String(env.DesiredComputeNodeCount)),
      el("dt", {}, "Attached"), el("dd", {}, String(env.AttachedComputeNodeCount)),
      el("dt", {}, "Next action"), el("dd", {}, env.NextAction || "—"),
      el("dt", {}, "Created"), el("dd", {}, time(env.CreateTime))),
  ];
}

function activityPager(state, total, poller) {
  const move = (to) => () => {
    state.offset = to;
    poller.now();
  };
  const last = Math.min(state.offset + ACTIVITIES_PAGE, total);
  const previous = move(Math.max(0, state.offset - ACTIVITIES_PAGE));
  return el("div", { class: "pager" },
    el("button", { type: "button", disabled: state.offset <= 0, onclick: previous }, "Previous"),
    el("span", { class: "shown" }, total ? `${state.offset + 1}–${last} of ${total}` : "No activities"),
    el("button", { type: "button", disabled: last >= total, onclick: move(last) }, "Next"));
}

export function envView(root, view, envId) {
  const top = el("div", { class: "env-header" });
  const nodes = el("div", { class: "nodes" });
  const activities = el("div", { class: "activities" });
  root.append(el("p", { class: "crumbs" }, el("a", { href: "#/envs" }, "Environments"), " / ", envId), top,
    el("h2", {}, "Compute nodes"), nodes, el("h2", {}, "Activities"), activities);
  view.poll("DescribeComputeEnv", async () => {
    const env = await view.call("DescribeComputeEnv", { EnvId: envId });
    if (!view.active) return;
    document.title = `${env.EnvName} · batchyard`;
    top.replaceChildren(...envHeader(env));
    nodes.replaceChildren(table(NODE_COLUMNS, env.ComputeNodeSet, { class: "nodes" },
      (node) => ({ "data-node-id": node.ComputeNodeId })));
  });
  const page = { offset: 0 };
  const poller = view.poll("DescribeComputeEnvActivities", async () => {
    const params = { EnvId: envId, Offset: page.offset, Limit: ACTIVITIES_PAGE };
    const reply = await view.call("DescribeComputeEnvActivities", params);
    if (!view.active) return;
    activities.replaceChildren(table(ACTIVITY_COLUMNS, reply.ActivitySet, { class: "activities" },
      (a) => ({ "data-activity-id": a.ActivityId })), activityPager(page, reply.TotalCount, poller));
  });
}
