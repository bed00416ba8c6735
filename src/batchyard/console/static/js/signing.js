// TC3-HMAC-SHA256 in the browser, with WebCrypto. The SecretKey is used once, to derive the
// date-scoped signing key; every request is then signed with that key alone.

export const ALGORITHM = "TC3-HMAC-SHA256";
export const SERVICE = "batch";
export const CONTENT_TYPE = "application/json";
// What the official SDKs sign: enough to bind a request to this server and its body.
const SIGNED_HEADERS = "content-type;host";
const encoder = new TextEncoder();

/** WebCrypto exists only in secure contexts: HTTPS, or plain HTTP on loopback. */
export function webCryptoAvailable() {
  return Boolean(globalThis.isSecureContext && globalThis.crypto && globalThis.crypto.subtle);
}

/** The UTC date (YYYY-MM-DD) a timestamp in seconds falls on: the scope a key is derived for. */
export function utcDate(timestamp) {
  return new Date(timestamp * 1000).toISOString().slice(0, 10);
}

export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function fromHex(hex) {
  const pairs = hex.match(/[0-9a-f]{2}/g) || [];
  return new Uint8Array(pairs.map((pair) => parseInt(pair, 16)));
}

async function hmac(keyBytes, message) {
  const key = await crypto.subtle.importKey(
    "raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(message)));
}

async function sha256Hex(text) {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text))));
}

/** kSigning = HMAC(HMAC(HMAC("TC3" + SecretKey, date), "batch"), "tc3_request"). */
export async function deriveSigningKey(secretKey, date) {
  const kDate = await hmac(encoder.encode("TC3" + secretKey), date);
  const kService = await hmac(kDate, SERVICE);
  return hmac(kService, "tc3_request");
}

/**
 * The Authorization header of a JSON POST to "/" on `host` (the page's own host, which is the
 * Host header the browser sends), made at `timestamp` with `key` = {secretId, date, signingKey}.
 */
export async function authorization(key, host, timestamp, body) {
  const canonicalHeaders = `content-type:${CONTENT_TYPE}\nhost:${host}\n`;
  const canonicalRequest = [
    "POST", "/", "", canonicalHeaders, SIGNED_HEADERS, await sha256Hex(body),
  ].join("\n");
  const scope = `${key.date}/${SERVICE}/tc3_request`;
  const stringToSign = [ALGORITHM, String(timestamp), scope, await sha256Hex(canonicalRequest)].join("\n");
  const signature = toHex(await hmac(fromHex(key.signingKey), stringToSign));
  const credential = `Credential=${key.secretId}/${scope}`;
  return `${ALGORITHM} ${credential}, SignedHeaders=${SIGNED_HEADERS}, Signature=${signature}`;
}
