#!/usr/bin/env node
// One Batch action through the official Node.js SDK (CommonClient), for tests/api/test_node_sdk.py.
//
//   node call.js ENDPOINT METHOD ACTION [PARAMS_JSON]
//
// ENDPOINT is host:port over plain HTTP. The SDK signs the credential scope with the endpoint's first
// label as the service, so it must read batch.<name>:<port>. METHOD is POST or GET (the SDK's reqMethod).
// Credentials come from TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY and TENCENTCLOUD_REGION, as for
// tccli, so they never show on a command line. With BATCHYARD_CONNECT_ADDRESS set, the connection goes to
// that address whatever the endpoint's name resolves to (batch.localhost does not resolve everywhere).
//
// Prints one JSON line: {"Response": {...}} and exits 0, or {"Error": {"Code", "Message", "RequestId"}}
// and exits 1 when the server answered with an error. Any other failure exits 2 with a message on stderr.
"use strict";

const dns = require("dns");
const http = require("http");
const { CommonClient } = require("tencentcloud-sdk-nodejs-common");

function usage(message) {
  process.stderr.write(`call.js: ${message}\nusage: node call.js ENDPOINT POST|GET ACTION [PARAMS_JSON]\n`);
  process.exit(2);
}

function agentFor(address) {
  if (!address) return undefined;
  const lookup = (_name, options, done) => dns.lookup(address, options, done);
  return new http.Agent({ lookup });
}

function makeClient(endpoint, method) {
  return new CommonClient(endpoint, "2017-03-12", {
    credential: {
      secretId: process.env.TENCENTCLOUD_SECRET_ID,
      secretKey: process.env.TENCENTCLOUD_SECRET_KEY,
    },
    region: process.env.TENCENTCLOUD_REGION,
    profile: {
      httpProfile: {
        protocol: "http://",
        reqMethod: method,
        reqTimeout: 30,
        agent: agentFor(process.env.BATCHYARD_CONNECT_ADDRESS),
      },
    },
  });
}

async function main() {
  const [endpoint, method, action, paramsJson = "{}"] = process.argv.slice(2);
  if (!endpoint || !action) usage("ENDPOINT, METHOD and ACTION are required");
  if (method !== "POST" && method !== "GET") usage(`METHOD must be POST or GET, not ${method}`);
  const params = JSON.parse(paramsJson);
  try {
    const response = await makeClient(endpoint, method).request(action, params);
    process.stdout.write(JSON.stringify({ Response: response }) + "\n");
  } catch (err) {
    if (!err.code) throw err;
    const error = { Code: err.code, Message: err.message, RequestId: err.requestId };
    process.stdout.write(JSON.stringify({ Error: error }) + "\n");
    process.exitCode = 1;
  }
}

main().catch((err) => {
  process.stderr.write(`call.js: ${err.stack || err}\n`);
  process.exit(2);
});
