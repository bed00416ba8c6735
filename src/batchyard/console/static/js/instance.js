// One task instance in a dialog: its state, why it is in it, and its logs, decoded.

import { badge, el, time } from "./dom.js";
import { describeError } from "./api.js";

/** A DescribeTaskLogs log is a data URI of base64 UTF-8 text; null until the instance has run. */
export function decodeLog(value) {
  if (value === null || value === undefined) return null;
  const bytes = Uint8Array.from(atob(value.slice(value.indexOf(",") + 1)), (c) => c.charCodeAt(0));
  return new TextDecoder("utf-8").decode(bytes);
}

async function fetchInstance(view, jobId, taskName, index) {
  const [task, logs] = await Promise.all([
    view.call("DescribeTask", { JobId: jobId, TaskName: taskName, Offset: index, Limit: 1 }),
    view.call("DescribeTaskLogs", { JobId: jobId, TaskName: taskName, TaskInstanceIndexes: [index] }),
  ]);
  return { instance: task.TaskInstanceSet[0], log: logs.TaskInstanceLogSet[0] };
}

function facts(instance) {
  const rows = [
    ["State", badge(instance.TaskInstanceState)],
    ["Reason", instance.StateReason || "—"],
    ["Exit code", instance.ExitCode === null ? "—" : String(instance.ExitCode)],
    ["Compute node", instance.ComputeNodeInstanceId || "—"],
    ["Created", time(instance.CreateTime)],
    ["Launched", time(instance.LaunchTime)],
    ["Running", time(instance.RunningTime)],
    ["Ended", time(instance.EndTime)],
  ];
  return el("dl", { class: "facts" }, rows.map(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]));
}

function logBlock(title, value, className) {
  const text = decodeLog(value);
  return el("section", { class: `log ${className}` }, el("h3", {}, title),
    el("pre", {}, text === null ? "(no log yet)" : text || "(empty)"));
}

function body({ instance, log }) {
  return [
    facts(instance),
    logBlock("stdout", log.StdoutLog, "stdout"),
    logBlock("stderr", log.StderrLog, "stderr"),
  ];
}

export function openInstance(view, jobId, taskName, index) {
  const content = el("div", { class: "content" }, el("p", { class: "loading" }, "Loading…"));
  const dialog = el("dialog", { class: "instance", "data-index": index },
    el("h2", {}, `${taskName} · instance ${index}`), content);
  const refresh = async () => {
    try {
      content.replaceChildren(...body(await fetchInstance(view, jobId, taskName, index)));
    } catch (error) {
      content.replaceChildren(el("p", { class: "error" }, describeError(error)));
    }
  };
  dialog.append(el("div", { class: "buttons" },
    el("button", { type: "button", class: "refresh", onclick: refresh }, "Refresh"),
    el("button", { type: "button", class: "close", onclick: () => dialog.close() }, "Close")));
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  refresh();
}
