// A task's instances as a compact grid, one canvas per page of 1,000 (DescribeTask's largest page),
// fetched only when it scrolls into view, so a task of 100,000 instances costs what the user looks at.

import { FINISHED, badge, counts, el, stateClass } from "./dom.js";
import { openInstance } from "./instance.js";

const PAGE = 1000;
const SMALL = { columns: 50, cell: 10, gap: 2 };
const LARGE = { columns: 100, cell: 5, gap: 1 }; // for tasks past LARGE_FROM instances
const LARGE_FROM = 2000;

let palette = null;

/** Colours come from the stylesheet's --state-* variables, so the grid and the badges agree. */
function colour(state) {
  palette ||= getComputedStyle(document.documentElement);
  return palette.getPropertyValue(`--${stateClass(state)}`).trim() || "#999";
}

class GridPage {
  constructor(grid, number, count, geometry) {
    Object.assign(this, { grid, number, count, first: number * PAGE, visible: false, loading: false });
    this.states = new Array(count).fill("UNLOADED");
    this.loadedFor = null; // the task's state when this page was last fetched
    this.columns = Math.min(geometry.columns, count);
    this.pitch = geometry.cell + geometry.gap;
    this.cell = geometry.cell;
    this.canvas = this.makeCanvas();
    this.draw();
  }

  makeCanvas() {
    const rows = Math.ceil(this.count / this.columns);
    const scale = window.devicePixelRatio || 1;
    const canvas = el("canvas", {
      class: "instances", "data-page": this.number, "data-first": this.first, "data-count": this.count,
      "data-columns": this.columns, "data-pitch": this.pitch,
      width: Math.ceil(this.columns * this.pitch * scale), height: Math.ceil(rows * this.pitch * scale),
      "aria-label": `Instances ${this.first} to ${this.first + this.count - 1}`,
      onclick: (event) => this.open(event), onmousemove: (event) => this.hint(event),
    });
    canvas.style.width = `${this.columns * this.pitch}px`;
    canvas.style.height = `${rows * this.pitch}px`;
    return canvas;
  }

  indexAt(event) {
    const rect = this.canvas.getBoundingClientRect();
    const column = Math.floor((event.clientX - rect.left) / this.pitch);
    const offset = Math.floor((event.clientY - rect.top) / this.pitch) * this.columns + column;
    return column < this.columns && offset >= 0 && offset < this.count ? offset : null;
  }

  open(event) {
    const offset = this.indexAt(event);
    if (offset !== null) this.grid.open(this.first + offset);
  }

  hint(event) {
    const offset = this.indexAt(event);
    this.canvas.title = offset === null ? "" : `Instance ${this.first + offset}: ${this.states[offset]}`;
  }

  draw() {
    const context = this.canvas.getContext("2d");
    const scale = this.canvas.width / (this.columns * this.pitch);
    context.setTransform(scale, 0, 0, scale, 0, 0);
    context.clearRect(0, 0, this.columns * this.pitch, this.canvas.height);
    this.states.forEach((state, i) => {
      context.fillStyle = colour(state);
      const [x, y] = [(i % this.columns) * this.pitch, Math.floor(i / this.columns) * this.pitch];
      context.fillRect(x, y, this.cell, this.cell);
    });
  }

  /** Fetched again while its task can still change, or once more after it has changed. */
  stale(taskState) {
    return !(this.loadedFor === taskState && FINISHED.has(taskState));
  }

  show(reply, taskState) {
    for (const instance of reply.TaskInstanceSet) {
      const offset = instance.TaskInstanceIndex - this.first;
      if (offset >= 0 && offset < this.count) this.states[offset] = instance.TaskInstanceState;
    }
    this.loadedFor = taskState;
    this.canvas.dataset.loaded = "true";
    this.draw();
  }
}

export class TaskGrid {
  constructor(view, jobId, task) {
    Object.assign(this, { view, jobId, name: task.TaskName, taskState: task.TaskState, pages: null });
    this.badge = badge(task.TaskState);
    this.counts = el("span", { class: "counts" });
    this.reason = el("p", { class: "reason", hidden: true });
    const waiting = el("p", { class: "loading" }, "Instances load when shown.");
    this.pagesBox = el("div", { class: "pages" }, waiting);
    this.form = el("form", { class: "open-instance" });
    this.element = el("section", { class: "task", "data-task": this.name },
      el("h3", {}, el("span", { class: "task-name" }, this.name), " ", this.badge, " ", this.counts),
      this.reason, this.pagesBox, this.form);
    this.observer = new IntersectionObserver((entries) => this.seen(entries), { rootMargin: "200px" });
    this.observer.observe(this.element);
  }

  get source() {
    return `DescribeTask ${this.name}`;
  }

  /** The task's state, and why its waiting instances wait (DescribeJob's TaskSet StateReason). */
  update(taskState, reason) {
    this.taskState = taskState;
    this.badge.replaceWith((this.badge = badge(taskState)));
    this.reason.textContent = reason || "";
    this.reason.hidden = !reason;
    this.refresh();
  }

  seen(entries) {
    for (const entry of entries) {
      if (entry.target === this.element) {
        if (entry.isIntersecting && !this.pages) this.loadFirst();
        continue;
      }
      const page = this.pages?.[Number(entry.target.dataset.page)];
      if (page) page.visible = entry.isIntersecting;
    }
    this.refresh(true);
  }

  /** Loads the visible pages that were never loaded, and with `onlyNew` false the stale ones too
   * (the job's poll asks for that, so pages follow the job's pace). */
  refresh(onlyNew = false) {
    for (const page of this.pages || []) {
      const wanted = page.loadedFor === null || (!onlyNew && page.stale(this.taskState));
      if (page.visible && !page.loading && wanted) this.load(page);
    }
  }

  describe(offset, limit) {
    const params = { JobId: this.jobId, TaskName: this.name, Offset: offset, Limit: limit };
    return this.view.call("DescribeTask", params);
  }

  async loadFirst() {
    this.pages = [];
    const state = this.taskState;
    const ok = await this.view.attempt(this.source, async () => {
      const reply = await this.describe(0, PAGE);
      if (this.view.active) this.build(reply, state);
    });
    if (!ok) this.pages = null; // tried again when it is next seen
  }

  build(reply, state) {
    const total = reply.TaskInstanceTotalCount;
    const geometry = total > LARGE_FROM ? LARGE : SMALL;
    this.pages = Array.from({ length: Math.ceil(total / PAGE) }, (_, n) =>
      new GridPage(this, n, Math.min(PAGE, total - n * PAGE), geometry));
    this.pagesBox.replaceChildren(...this.pages.map((page) => page.canvas));
    this.pages.forEach((page) => this.observer.observe(page.canvas));
    if (this.pages.length) this.pages[0].show(reply, state);
    this.counts.replaceWith((this.counts = counts(reply.TaskInstanceMetrics)));
    this.buildForm(total);
  }

  async load(page) {
    page.loading = true;
    const state = this.taskState;
    await this.view.attempt(this.source, async () => {
      const reply = await this.describe(page.first, page.count);
      if (!this.view.active) return;
      page.show(reply, state);
      this.counts.replaceWith((this.counts = counts(reply.TaskInstanceMetrics)));
    });
    page.loading = false;
  }

  /** The keyboard's way to an instance, and the quick one in a large task. */
  buildForm(total) {
    const index = el("input", {
      type: "number", name: "index", min: 0, max: total - 1, value: 0, required: true,
      "aria-label": `Instance of ${this.name}`,
    });
    this.form.replaceChildren(el("label", {}, "Instance ", index), el("button", { type: "submit" }, "Open"),
      el("span", { class: "total" }, `${total} instance${total === 1 ? "" : "s"}`));
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.open(Number(index.value));
    });
  }

  open(index) {
    openInstance(this.view, this.jobId, this.name, index);
  }
}
