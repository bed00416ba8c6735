// A job's tasks as a layered graph: each task one layer right of its deepest predecessor, drawn as
// SVG boxes coloured by state. The shape is drawn once (a job's DAG never changes); polls recolour it.

import { stateClass, svg } from "./dom.js";

const BOX = { width: 150, height: 46 };
const GAP = { x: 56, y: 18 };
const PAD = 12;
const NAME_CHARS = 18;

/** Layer of each task: 0 for tasks without predecessors, else one more than the deepest predecessor. */
function depths(names, dependences) {
  const predecessors = new Map(names.map((name) => [name, []]));
  for (const { StartTask, EndTask } of dependences) predecessors.get(EndTask)?.push(StartTask);
  const depth = new Map();
  const visit = (name) => {
    if (!depth.has(name)) {
      depth.set(name, 0);  // the API refuses cycles; this only guards against a loop here
      depth.set(name, Math.max(-1, ...predecessors.get(name).map(visit)) + 1);
    }
    return depth.get(name);
  };
  names.forEach(visit);
  return { depth, predecessors };
}

/** Rows within each layer: tasks sorted by the mean row of their predecessors, which keeps edges short. */
export function layout(names, dependences) {
  const { depth, predecessors } = depths(names, dependences);
  const layers = [];
  names.forEach((name) => (layers[depth.get(name)] ||= []).push(name));
  const row = new Map();
  const mean = (name) => {
    const rows = predecessors.get(name).map((p) => row.get(p));
    return rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : 0;
  };
  layers.forEach((layer) => {
    layer.map((name, i) => [mean(name), i, name]).sort((a, b) => a[0] - b[0] || a[1] - b[1])
      .forEach(([, , name], r) => row.set(name, r));
  });
  return { depth, row, layers: layers.length, rows: Math.max(...layers.map((l) => l.length)) };
}

function position(place, name) {
  return {
    x: PAD + place.depth.get(name) * (BOX.width + GAP.x),
    y: PAD + place.row.get(name) * (BOX.height + GAP.y),
  };
}

function edge(place, { StartTask, EndTask }) {
  const from = position(place, StartTask);
  const to = position(place, EndTask);
  const [x1, y1] = [from.x + BOX.width, from.y + BOX.height / 2];
  const [x2, y2] = [to.x - 4, to.y + BOX.height / 2];
  const bend = (x2 - x1) / 2;
  return svg("path", {
    class: "edge", "marker-end": "url(#arrow)",
    "data-from": StartTask, "data-to": EndTask,
    d: `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`,
  });
}

function shortName(name) {
  return name.length > NAME_CHARS ? `${name.slice(0, NAME_CHARS - 1)}…` : name;
}

function box(place, task, onSelect) {
  const { x, y } = position(place, task.TaskName);
  const label = svg("text", { x: x + 10, y: y + 19, class: "name" }, shortName(task.TaskName));
  const state = svg("text", { x: x + 10, y: y + 36, class: "state" }, task.TaskState);
  const rect = svg("rect", { x, y, width: BOX.width, height: BOX.height, rx: 6 });
  return svg("g", {
    class: `box ${stateClass(task.TaskState)}`, "data-task": task.TaskName, tabindex: 0, role: "button",
    onclick: () => onSelect(task.TaskName),
    onkeydown: (event) => (event.key === "Enter" || event.key === " ") && onSelect(task.TaskName),
  }, svg("title", {}, task.TaskName), rect, label, state);
}

function arrowHead() {
  return svg("defs", {}, svg("marker", {
    id: "arrow", viewBox: "0 0 8 8", refX: 7, refY: 4, markerWidth: 8, markerHeight: 8, orient: "auto",
  }, svg("path", { d: "M0,0 L8,4 L0,8 z", class: "arrow" })));
}

/** The DAG of a DescribeJob reply; `update(taskSet)` recolours it from a later reply. */
export function drawDag(job, onSelect) {
  const names = job.TaskSet.map((task) => task.TaskName);
  const place = layout(names, job.DependenceSet);
  const width = 2 * PAD + place.layers * BOX.width + (place.layers - 1) * GAP.x;
  const height = 2 * PAD + place.rows * BOX.height + (place.rows - 1) * GAP.y;
  const boxes = new Map(job.TaskSet.map((task) => [task.TaskName, box(place, task, onSelect)]));
  const element = svg("svg", {
    class: "dag", width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "Task graph",
  }, arrowHead(), job.DependenceSet.map((d) => edge(place, d)), [...boxes.values()]);
  const update = (taskSet) => {
    for (const task of taskSet) {
      const group = boxes.get(task.TaskName);
      if (!group) continue;
      group.setAttribute("class", `box ${stateClass(task.TaskState)}`);
      group.querySelector("text.state").textContent = task.TaskState;
    }
  };
  return { element, update };
}
