// A job's page: what it is, its task graph, a grid of instances per task, and what can be done to it.

import { FINISHED, badge, confirmDialog, counts, el, time } from "./dom.js";
import { drawDag } from "./dag.js";
import { TaskGrid } from "./grid.js";

const ACTIONS = [
  {
    label: "Terminate", action: "TerminateJob", params: (id) => ({ JobId: id }),
    message: "Its running instances are killed and every unfinished instance ends FAILED.",
    done: "Termination requested.",
  },
  {
    label: "Retry", action: "RetryJobs", params: (id) => ({ JobIds: [id] }),
    message: "Its failed instances, and the tasks after them, run again.",
    done: "Retry requested.",
  },
  {
    label: "Delete", action: "DeleteJob", params: (id) => ({ JobId: id }),
    message: "The job and its record are removed for good; a job must have ended to be deleted.",
    done: "Job deleted.",
  },
];

function header(job) {
  const reason = job.StateReason ? el("p", { class: "reason" }, job.StateReason) : "";
  return [
    el("h1", {}, el("span", { class: "job-name" }, job.JobName), " ", badge(job.JobState)),
    el("dl", { class: "facts inline" },
      el("dt", {}, "Job"), el("dd", {}, job.JobId),
      el("dt", {}, "Zone"), el("dd", {}, job.Zone),
      el("dt", {}, "Priority"), el("dd", {}, String(job.Priority)),
      el("dt", {}, "Created"), el("dd", {}, time(job.CreateTime)),
      el("dt", {}, "Ended"), el("dd", {}, time(job.EndTime)),
      el("dt", {}, "Instances"), el("dd", {}, counts(job.TaskInstanceMetrics))),
    reason,
  ];
}

/** Each button acts only once its dialog is confirmed; whatever the API answers is shown. */
function actionButtons(view, jobId, refresh) {
  return el("div", { class: "actions" }, ACTIONS.map((spec) => el("button", {
    type: "button", class: `danger ${spec.action}`,
    onclick: async () => {
      const confirmed = await confirmDialog({
        title: `${spec.label} job ${jobId}?`, message: spec.message, confirmLabel: spec.label,
      });
      if (!confirmed) return;
      const ok = await view.attempt(spec.action, () => view.call(spec.action, spec.params(jobId)));
      if (!ok) return;
      view.say(spec.done);
      if (spec.action === "DeleteJob") location.hash = "#/jobs";
      else refresh();
    },
  }, spec.label)));
}

function taskGrid(view, jobId, grids, box, task) {
  if (!grids.has(task.TaskName)) {
    const grid = new TaskGrid(view, jobId, task);
    grids.set(task.TaskName, grid);
    box.append(grid.element);
  }
  return grids.get(task.TaskName);
}

export function jobView(root, view, jobId) {
  const facts = el("div", { class: "job-facts" });
  const graph = el("div", { class: "dag-box" });
  const tasks = el("div", { class: "tasks" });
  const grids = new Map();
  let dag = null;
  const select = (name) => grids.get(name)?.element.scrollIntoView({ behavior: "smooth", block: "start" });
  const poller = view.poll("DescribeJob", async () => {
    const job = await view.call("DescribeJob", { JobId: jobId });
    if (!view.active) return;
    document.title = `${job.JobName} · batchyard`;
    facts.replaceChildren(...header(job));
    if (!dag) graph.append((dag = drawDag(job, select)).element);
    dag.update(job.TaskSet);
    job.TaskSet.forEach((task) => taskGrid(view, jobId, grids, tasks, task).update(task.TaskState, task.StateReason));
    return FINISHED.has(job.JobState); // settled: polled seldom
  });
  const top = el("div", { class: "job-header" }, facts, actionButtons(view, jobId, () => poller.now()));
  root.append(el("p", { class: "crumbs" }, el("a", { href: "#/jobs" }, "Jobs"), " / ", jobId), top,
    el("h2", {}, "Tasks"), graph, tasks);
}
