// The console's shell: sign-in gate, hash routes, the error banner and the polling every view uses.

import { SIGNED_OUT_EVENT, call, currentSession, describeError, signOut } from "./api.js";
import { clear, el } from "./dom.js";
import { envView, envsView } from "./envs.js";
import { jobView } from "./job.js";
import { jobsView } from "./jobs.js";
import { signInView } from "./signin.js";

const POLL_MS = 2500;
// After a refresh that found what it shows settled (a finished job): only a retry changes it, and a
// retry from the page refreshes it at once.
const SETTLED_POLL_MS = 30000;
const ROUTES = [
  [/^#\/jobs\/([^/?]+)$/, (root, view, [id]) => jobView(root, view, decodeURIComponent(id))],
  [/^#\/jobs(?:\?(.*))?$/, (root, view, [query]) => jobsView(root, view, new URLSearchParams(query || ""))],
  [/^#\/envs\/([^/?]+)$/, (root, view, [id]) => envView(root, view, decodeURIComponent(id))],
  [/^#\/envs$/, (root, view) => envsView(root, view)],
];

/** API errors stay on screen, one line per source, until that source next succeeds or is dismissed. */
class ErrorBanner {
  constructor(node) {
    this.node = node;
    this.errors = new Map();
  }

  show(source, error) {
    this.errors.set(source, describeError(error));
    this.render();
  }

  clear(source) {
    if (this.errors.delete(source)) this.render();
  }

  reset() {
    this.errors.clear();
    this.render();
  }

  render() {
    const lines = [...this.errors].map(([source, text]) =>
      el("p", { class: "error", "data-source": source },
        el("strong", {}, `${source} failed. `), text,
        el("button", {
          type: "button", class: "dismiss", title: "Dismiss", onclick: () => this.clear(source),
        }, "×")));
    this.node.replaceChildren(...lines);
  }
}

/** Refreshes now and then every POLL_MS after the last refresh ended, never two at once; every
 * SETTLED_POLL_MS after a refresh that resolved to true (what it shows has settled). */
class Poller {
  constructor(view, source, refresh) {
    Object.assign(this, { view, source, refresh, timer: 0, running: false, again: false, stopped: false });
    this.now();
  }

  async now() {
    clearTimeout(this.timer);
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    let settled = false;
    await this.view.attempt(this.source, async () => {
      settled = (await this.refresh()) === true;
    });
    this.running = false;
    if (!this.view.active || this.stopped) return;
    if (this.again) {
      this.again = false;
      this.now();
    } else {
      this.timer = setTimeout(() => this.now(), settled ? SETTLED_POLL_MS : POLL_MS);
    }
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}

/** What a view may use while it is on screen; everything stops when the user navigates away. */
class View {
  constructor(session, banner, notice) {
    Object.assign(this, { session, banner, notice, active: true, pollers: [] });
  }

  call(action, params) {
    return call(this.session, action, params);
  }

  poll(source, refresh) {
    const poller = new Poller(this, source, refresh);
    this.pollers.push(poller);
    return poller;
  }

  /** Runs `work`, reporting its failure under `source`; resolves true when it succeeded. */
  async attempt(source, work) {
    try {
      await work();
      if (this.active) this.banner.clear(source);
      return true;
    } catch (error) {
      if (this.active) this.banner.show(source, error);
      return false;
    }
  }

  say(text) {
    this.notice.replaceChildren(el("p", {}, text));
  }

  dispose() {
    this.active = false;
    this.pollers.forEach((poller) => poller.stop());
  }
}

const shell = {
  header: document.querySelector("header.top"),
  root: document.getElementById("view"),
  banner: new ErrorBanner(document.getElementById("errors")),
  notice: document.getElementById("notice"),
  view: null,
  regions: null,
};

async function regions() {
  if (!shell.regions) {
    const response = await fetch("config.json", { cache: "no-store" });
    shell.regions = (await response.json()).regions;
  }
  return shell.regions;
}

function showHeader(session) {
  shell.header.hidden = !session;
  shell.header.querySelector(".who").textContent = session ? `${session.secretId} · ${session.region}` : "";
  const section = location.hash.startsWith("#/envs") ? "envs" : "jobs";
  for (const link of shell.header.querySelectorAll("nav a")) {
    link.classList.toggle("active", link.dataset.nav === section);
  }
}

function leaveView() {
  if (shell.view) shell.view.dispose();
  shell.view = null;
  shell.banner.reset();
  shell.notice.replaceChildren();
  clear(shell.root);
}

async function render(notice = "") {
  leaveView();
  const session = currentSession();
  showHeader(session);
  if (!session) {
    try {
      signInView(shell.root, { regions: await regions(), notice, onSignedIn: () => render() });
    } catch (error) {
      shell.banner.show("Loading the console's settings (config.json)", error);
    }
    return;
  }
  const route = ROUTES.find(([pattern]) => pattern.test(location.hash));
  if (!route) {
    location.replace("#/jobs");
    return;
  }
  shell.view = new View(session, shell.banner, shell.notice);
  route[1](shell.root, shell.view, location.hash.match(route[0]).slice(1));
}

shell.header.querySelector(".sign-out").addEventListener("click", () => signOut("You signed out."));
window.addEventListener(SIGNED_OUT_EVENT, (event) => render(event.detail));
window.addEventListener("hashchange", () => render());
render();
