// The sign-in form. The SecretKey typed here is used once to derive today's signing key and is then
// cleared from the form; only the derived key is kept (api.js).

import { describeError, signIn } from "./api.js";
import { el } from "./dom.js";
import { webCryptoAvailable } from "./signing.js";

const PREFERRED_REGION = "ap-guangzhou";
const INSECURE = "This page was not loaded over HTTPS or from loopback, so the browser offers no " +
  "WebCrypto to sign with. Serve batchyard with --tls-cert and --tls-key, or open it on 127.0.0.1.";

function regionSelect(regions) {
  const preferred = regions.includes(PREFERRED_REGION) ? PREFERRED_REGION : regions[0];
  return el("select", { name: "region", id: "region", required: true },
    regions.map((region) => el("option", { value: region, selected: region === preferred }, region)));
}

function field(label, control) {
  return el("label", { for: control.id }, el("span", {}, label), control);
}

export function signInView(root, { regions, notice, onSignedIn }) {
  const error = el("p", { class: "form-error", role: "alert" });
  const button = el("button", { type: "submit" }, "Sign in");
  const form = el("form", { class: "sign-in", autocomplete: "off" },
    el("h1", {}, "Sign in to batchyard"),
    notice ? el("p", { class: "notice" }, notice) : null,
    field("SecretId", el("input", {
      name: "secretId", id: "secret-id", required: true, spellcheck: "false",
    })),
    field("SecretKey", el("input", {
      name: "secretKey", id: "secret-key", type: "password", required: true,
    })),
    field("Region", regionSelect(regions)),
    error,
    button,
    el("p", { class: "hint" },
      "The SecretKey never leaves this page and is not kept: the console keeps only a signing key " +
      "derived from it for today (UTC), in this tab's session storage, until you sign out or close the tab."),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    error.textContent = "";
    const { secretId, secretKey, region } = form.elements;
    try {
      await signIn(secretId.value.trim(), secretKey.value, region.value);
      secretKey.value = "";
      onSignedIn();
    } catch (failure) {
      error.textContent = describeError(failure);
    } finally {
      button.disabled = false;
    }
  });
  if (!webCryptoAvailable()) {
    error.textContent = INSECURE;
    button.disabled = true;
  }
  root.append(form);
}
