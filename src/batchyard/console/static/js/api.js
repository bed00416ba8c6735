// The signed API as the console uses it: one session per tab, one call function, one error type.

import { CONTENT_TYPE, authorization, deriveSigningKey, toHex, utcDate } from "./signing.js";

export const API_VERSION = "2017-03-12";
const STORAGE_KEY = "batchyard.session";
const API_URL = "/";
export const SIGNED_OUT_EVENT = "batchyard:signed-out";

/** An error answered by the API (Code, Message, RequestId), or met on the way to it. */
export class ApiError extends Error {
  constructor(action, code, message, requestId = "") {
    super(message);
    this.action = action;
    this.code = code;
    this.requestId = requestId;
  }

  describe() {
    const request = this.requestId ? ` (RequestId ${this.requestId})` : "";
    return `${this.code}: ${this.message}${request}`;
  }
}

export function describeError(error) {
  if (error instanceof ApiError) return error.describe();
  return String(error && error.message ? error.message : error);
}

function nowSeconds() {
  return Math.floor(Date.now() / 1000);
}

/**
 * Derive today's signing key, prove it with one call, and only then keep it (never the SecretKey)
 * in this tab's session storage, which the browser drops when the tab closes.
 */
export async function signIn(secretId, secretKey, region) {
  const date = utcDate(nowSeconds());
  const session = { secretId, region, date, signingKey: toHex(await deriveSigningKey(secretKey, date)) };
  await call(session, "DescribeJobs", { Limit: 1 });
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  return session;
}

export function currentSession() {
  try {
    const session = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || "null");
    return session && session.secretId && session.signingKey ? session : null;
  } catch {
    return null;
  }
}

export function signOut(reason = "") {
  sessionStorage.removeItem(STORAGE_KEY);
  window.dispatchEvent(new CustomEvent(SIGNED_OUT_EVENT, { detail: reason }));
}

/** A key is good for the UTC day it was derived for; the server refuses it the next day. */
function checkDate(session, timestamp, action) {
  if (utcDate(timestamp) === session.date) return;
  const reason = `The signing key was for ${session.date} (UTC) and a new day has begun: sign in again.`;
  if (currentSession()) signOut(reason);
  throw new ApiError(action, "SessionExpired", reason);
}

async function post(action, headers, body) {
  try {
    return await fetch(API_URL, {
      method: "POST", headers, body, cache: "no-store", credentials: "omit", redirect: "error",
    });
  } catch (error) {
    throw new ApiError(action, "NetworkError", `The server could not be reached (${error.message}).`);
  }
}

async function envelope(action, response) {
  try {
    return (await response.json()).Response;
  } catch {
    throw new ApiError(action, `HTTP${response.status}`, "The server's answer is not an API response.");
  }
}

/** Call `action` with `params`; resolves to the Response object, rejects with an ApiError. */
export async function call(session, action, params = {}) {
  const timestamp = nowSeconds();
  checkDate(session, timestamp, action);
  const body = JSON.stringify(params);
  const headers = {
    "Content-Type": CONTENT_TYPE,
    "Authorization": await authorization(session, location.host, timestamp, body),
    "X-TC-Action": action,
    "X-TC-Version": API_VERSION,
    "X-TC-Region": session.region,
    "X-TC-Timestamp": String(timestamp),
    "X-TC-Language": "en-US",
  };
  const reply = await envelope(action, await post(action, headers, body));
  if (!reply) throw new ApiError(action, "InvalidResponse", "The server's answer has no Response.");
  if (reply.Error) throw new ApiError(action, reply.Error.Code, reply.Error.Message, reply.RequestId);
  return reply;
}
