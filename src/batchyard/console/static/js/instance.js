// One task instance in a dialog: its state, why it is in it, its logs, decoded, and, while it has not
// finished, a way to terminate it.

import { FINISHED, badge, confirmDialog, el, time } from "./dom.js";
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

/** Acts only once confirmed; the API's refusal, if any, is shown in the page's banner. */
function terminateButton(view, jobId, taskName, index, refresh) {
  const action = "TerminateTaskInstance";
  return el("button", {
    type: "button", class: `danger ${action}`,
    onclick: async () => {
      const confirmed = await confirmDialog({
        title: `Terminate instance ${index} of ${taskName}?`,
        message: "If it runs, it is killed; it ends FAILED and is not retried.",
        confirmLabel: "Terminate",
      });
      if (!confirmed) return;
      const params = { JobId: jobId, TaskName: taskName, TaskInstanceIndex: index };
      if (await view.attempt(action, () => view.call(action, params))) {
        view.say(`Termination of instance ${index} of ${taskName} requested.`);
      }
      refresh();
    },
  }, "Terminate");
}

function body({ instance, log }, terminate) {
  return [
    facts(instance),
    FINISHED.has(instance.TaskInstanceState) ? "" : el("div", { class: "actions" }, terminate()),
    logBlock("stdout", log.StdoutLog, "stdout"),
    logBlock("stderr", log.StderrLog, "stderr"),
  ];
}

/** The dialog follows the instance (its state and logs) while it is open, seldom once it has finished. */
export function openInstance(view, jobId, taskName, index) {
  const content = el("div", { class: "content" }, el("p", { class: "loading" }, "Loading…"));
  const dialog = el("dialog", { class: "instance", "data-index": index },
    el("h2", {}, `${taskName} · instance ${index}`), content);
  const terminate = () => terminateButton(view, jobId, taskName, index, () => poller.now());
  const poller = view.poll("DescribeTask", async () => {
    try {
      const shown = await fetchInstance(view, jobId, taskName, index);
      content.replaceChildren(...body(shown, terminate));
      return FINISHED.has(shown.instance.TaskInstanceState);
    } catch (error) {
      content.replaceChildren(el("p", { class: "error" }, describeError(error)));
      return false;
    }
  });
  dialog.append(el("div", { class: "buttons" },
    el("button", { type: "button", class: "refresh", onclick: () => poller.now() }, "Refresh"),
    el("button", { type: "button", class: "close", onclick: () => dialog.close() }, "Close")));
  dialog.addEventListener("close", () => {
    poller.stop();
    dialog.remove();
  });
  document.body.append(dialog);
  dialog.showModal();
}
