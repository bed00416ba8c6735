// Building the page. Every text that came from the API goes in as a text node or an attribute,
// never as markup: the page's policy (Trusted Types) makes HTML strings fail outright.

const SVG_NS = "http://www.w3.org/2000/svg";

function fill(node, attrs, children) {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** An HTML element: el("a", {href: "#/jobs"}, "Jobs"). Attributes named on* add listeners. */
export function el(tag, attrs = {}, ...children) {
  return fill(document.createElement(tag), attrs, children);
}

export function svg(tag, attrs = {}, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), attrs, children);
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

/** A state as a CSS class; states are upper-case words, anything else gets the neutral look. */
export function stateClass(state) {
  return /^[A-Z_]+$/.test(state || "") ? `state-${state}` : "state-UNKNOWN";
}

export function badge(state) {
  return el("span", { class: `badge ${stateClass(state)}` }, state || "—");
}

export function time(value) {
  return value ? el("time", { datetime: value }, value.replace("T", " ").replace("Z", " UTC")) : "—";
}

export const INSTANCE_STATES = [
  "SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEED", "FAILED", "FAILED_INTERRUPTED",
];
export const FINISHED = new Set(["SUCCEED", "FAILED"]);

const COUNT_FIELDS = {
  SUBMITTED: "SubmittedCount", PENDING: "PendingCount", RUNNABLE: "RunnableCount",
  STARTING: "StartingCount", RUNNING: "RunningCount", SUCCEED: "SucceedCount",
  FAILED: "FailedCount", FAILED_INTERRUPTED: "FailedInterruptedCount",
};

/** Non-zero state counts of a TaskMetrics/TaskInstanceMetrics object, as coloured chips. */
export function counts(metrics) {
  const chips = INSTANCE_STATES.filter((s) => metrics && metrics[COUNT_FIELDS[s]] > 0).map((s) =>
    el("span", { class: `count ${stateClass(s)}`, title: s }, `${metrics[COUNT_FIELDS[s]]} ${s}`),
  );
  return el("span", { class: "counts" }, chips.length ? chips : "none");
}

/**
 * A table of `rows`: `columns` are [heading, row => cell content], `rowAttrs` gives each row's
 * attributes (ids for links and tests).
 */
export function table(columns, rows, attrs = {}, rowAttrs = () => ({})) {
  const head = el("thead", {}, el("tr", {}, columns.map(([heading]) => el("th", {}, heading))));
  const line = (row) => el("tr", rowAttrs(row), columns.map(([, cell]) => el("td", {}, cell(row))));
  const empty = el("tr", {}, el("td", { colspan: columns.length, class: "empty" }, "Nothing here yet."));
  const body = el("tbody", {}, rows.length ? rows.map(line) : empty);
  return el("table", attrs, head, body);
}

/**
 * Ask before doing something that cannot be undone. Resolves true only when the user presses the
 * confirming button; Cancel, Escape and closing the dialog resolve false.
 */
export function confirmDialog({ title, message, confirmLabel }) {
  return new Promise((resolve) => {
    const dialog = el("dialog", { class: "confirm", "aria-label": title });
    const close = (value) => () => dialog.close(value);
    dialog.append(
      el("h2", {}, title),
      el("p", {}, message),
      el("div", { class: "buttons" },
        el("button", { type: "button", class: "cancel", onclick: close("cancel") }, "Cancel"),
        el("button", { type: "button", class: "danger", onclick: close("confirm") }, confirmLabel)),
    );
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "confirm");
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}
