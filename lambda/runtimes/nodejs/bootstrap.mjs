// hivehook's Node.js runtime for AWS Lambda functions.
//
// An execution environment runs this once: it loads the function's module (init), then asks the
// Lambda Runtime API at $AWS_LAMBDA_RUNTIME_API for invocations one at a time and posts each
// handler's result or error back, as AWS's Node.js runtime does
// (https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html,
//  https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html):
// - $_HANDLER "src/app.handler": the module is "src/app" (up to the first '.' after the last '/'),
//   the rest is a property path; a .mjs file, or a .js file under a package.json with
//   "type": "module", is an ES module (import()), a .cjs or other .js file CommonJS (require());
// - async handlers (a returned promise) and callback handlers (event, context, callback), with
//   context.callbackWaitsForEmptyEventLoop (default true: the answer waits until nothing else is
//   pending) and the legacy context.succeed/fail/done;
// - console.* lines carry AWS's "time\trequestId\tLEVEL\t" prefix; log/info/debug/trace go to
//   stdout, warn/error to stderr, so they end up in the run's tails;
// - errors are {errorType, errorMessage, trace} as AWS's Node.js runtime sends them; init errors
//   (Runtime.ImportModuleError, Runtime.HandlerNotFound, Runtime.MalformedHandlerName,
//   Runtime.UserCodeSyntaxError) go to /runtime/init/error and the process exits 1; an uncaught
//   exception or unhandled rejection fails the invocation and ends the environment (exit 129);
// - for the invocation, process.env has the run's HIVEHOOK_PATH, _KEY, _BUCKET, _TABLE, _RUN_ID,
//   _ATTEMPT and _PART_<NAME> (from the event's "hivehook" object), as a command job's environment.
// Node.js >= 18, standard library only.
import fs from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import util from "node:util";

const API = process.env.AWS_LAMBDA_RUNTIME_API;
const BASE = "/2018-06-01/runtime";
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const [apiHost, apiPort] = (() => {
  const i = API.lastIndexOf(":");
  return [API.slice(0, i).replace(/^\[|\]$/g, ""), Number(API.slice(i + 1))];
})();

function request(method, urlPath, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: apiHost, port: apiPort, method, path: BASE + urlPath, agent, headers },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ res, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

// --- logging as AWS's runtime formats it ---
let currentRequestId = "";
const stdoutWrite = (s) => fs.writeSync(1, s);
const stderrWrite = (s) => fs.writeSync(2, s);
function patchConsole() {
  const levels = { log: "INFO", info: "INFO", debug: "DEBUG", trace: "TRACE", warn: "WARN", error: "ERROR" };
  for (const [name, level] of Object.entries(levels)) {
    const write = name === "warn" || name === "error" ? stderrWrite : stdoutWrite;
    console[name] = (...args) => {
      let text = util.format(...args);
      if (name === "trace") text += "\n" + new Error().stack.split("\n").slice(2).join("\n");
      write(`${new Date().toISOString()}\t${currentRequestId}\t${level}\t${text.replace(/\n/g, "\r")}\n`);
    };
  }
}

// --- errors as AWS's Node.js runtime reports them ---
function errorDocument(err, typeOverride) {
  if (err instanceof Error) {
    return {
      errorType: typeOverride || err.name || "Error",
      errorMessage: err.message,
      trace: typeof err.stack === "string" ? err.stack.split("\n") : [],
    };
  }
  let message;
  try {
    message = typeof err === "string" ? err : JSON.stringify(err);
  } catch {
    message = String(err);
  }
  return { errorType: typeOverride || typeof err, errorMessage: String(message), trace: [] };
}

class InitError extends Error {
  constructor(type, message, cause) {
    super(message);
    this.name = type;
    if (cause && cause.stack) this.stack = `${type}: ${message}\n${cause.stack.split("\n").slice(1).join("\n")}`;
  }
}

// --- loading the handler ---
function isEsmJs(file) {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, "package.json");
    if (fs.existsSync(pkg)) {
      try {
        return JSON.parse(fs.readFileSync(pkg, "utf8")).type === "module";
      } catch {
        return false;
      }
    }
    if (dir === path.dirname(dir)) return false;
  }
}

async function loadModule(root, moduleName) {
  const base = path.resolve(root, moduleName);
  const requireFromRoot = createRequire(path.join(root, "noop.js"));
  const candidates = [
    [base + ".js", (f) => (isEsmJs(f) ? "esm" : "cjs")],
    [base + ".mjs", () => "esm"],
    [base + ".cjs", () => "cjs"],
  ];
  for (const [file, kind] of candidates) {
    if (!fs.existsSync(file)) continue;
    if (kind(file) === "esm") return import(pathToFileURL(file).href);
    try {
      return requireFromRoot(file);
    } catch (e) {
      if (e && e.code === "ERR_REQUIRE_ESM") return import(pathToFileURL(file).href);
      throw e;
    }
  }
  return requireFromRoot(base);  // a folder with index.js or package.json "main"; else MODULE_NOT_FOUND
}

async function loadHandler(root, handlerString) {
  if (handlerString.includes("..")) {
    throw new InitError("Runtime.MalformedHandlerName", "'" + handlerString + "' is not a valid handler name. Use absolute paths when specifying root directories in handler names.");
  }
  const slash = handlerString.lastIndexOf("/");
  const dot = handlerString.indexOf(".", slash + 1);
  if (dot < 0 || dot === handlerString.length - 1) {
    throw new InitError("Runtime.MalformedHandlerName", "Bad handler " + handlerString);
  }
  const moduleName = handlerString.slice(0, dot);
  const handlerPath = handlerString.slice(dot + 1);
  let app;
  try {
    app = await loadModule(root, moduleName);
  } catch (e) {
    if (e instanceof SyntaxError) throw new InitError("Runtime.UserCodeSyntaxError", String(e), e);
    if (e && (e.code === "MODULE_NOT_FOUND" || e.code === "ERR_MODULE_NOT_FOUND")) {
      throw new InitError("Runtime.ImportModuleError", String(e), e);
    }
    throw e;  // the module's own code threw during init: reported as that error
  }
  let fn = app;
  for (const part of handlerPath.split(".")) {
    fn = fn == null ? undefined : fn[part];
  }
  if (fn === undefined) {
    throw new InitError("Runtime.HandlerNotFound", `${moduleName}.${handlerPath} is undefined or not exported`);
  }
  if (typeof fn !== "function") {
    throw new InitError("Runtime.HandlerNotFound", `${moduleName}.${handlerPath} is not a function`);
  }
  return fn;
}

// --- one invocation ---
function makeContext(res, settle) {
  const deadline = Number(res.headers["lambda-runtime-deadline-ms"] || 0);
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: res.headers["lambda-runtime-invoked-function-arn"],
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: res.headers["lambda-runtime-aws-request-id"],
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    identity: undefined,
    clientContext: undefined,
    getRemainingTimeInMillis: () => Math.max(deadline - Date.now(), 0),
  };
  context.done = (err, result) => settle(err, result, true);
  context.succeed = (result) => settle(null, result, true);
  context.fail = (err) => settle(err || "handled", undefined, true);
  return context;
}

let inFlight = null;  // {requestId, answered}

const runVariables = new Set();
function setRunEnvironment(event) {
  for (const name of runVariables) delete process.env[name];
  runVariables.clear();
  const h = event && typeof event === "object" ? event.hivehook : undefined;
  if (!h || typeof h !== "object") return;
  const values = { HIVEHOOK_PATH: h.path, HIVEHOOK_KEY: h.key, HIVEHOOK_TABLE: h.table, HIVEHOOK_RUN_ID: h.run_id,
                   HIVEHOOK_ATTEMPT: h.attempt, HIVEHOOK_BUCKET: event.Records?.[0]?.s3?.bucket?.name };
  for (const [column, value] of Object.entries(h.partition || {})) {
    const name = Array.from(Buffer.from(column, "utf8"), (b) => (/[A-Za-z0-9]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : "_")).join("");
    values["HIVEHOOK_PART_" + name.toUpperCase()] = value;  // per byte, as the daemon names them
  }
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined || value === null) continue;
    process.env[name] = String(value);
    runVariables.add(name);
  }
}

async function postError(requestId, err, typeOverride) {
  const doc = errorDocument(err, typeOverride);
  console.error("Invoke Error", JSON.stringify(doc));
  await request("POST", `/invocation/${requestId}/error`, JSON.stringify(doc), {
    "Content-Type": "application/json",
    "Lambda-Runtime-Function-Error-Type": doc.errorType,
  });
}

function waitForEmptyEventLoop() {
  return new Promise((resolve) => process.once("beforeExit", resolve));
}

async function invoke(handler, res, body) {
  const requestId = res.headers["lambda-runtime-aws-request-id"];
  currentRequestId = requestId;
  const trace = res.headers["lambda-runtime-trace-id"];
  if (trace) process.env._X_AMZN_TRACE_ID = trace;
  else delete process.env._X_AMZN_TRACE_ID;
  inFlight = { requestId, answered: false };

  let settleOutcome;
  const outcome = new Promise((resolve) => (settleOutcome = resolve));
  let settled = false;
  const settle = (err, result, viaCallback) => {
    if (settled) return;
    settled = true;
    settleOutcome({ err, result, viaCallback });
  };
  const context = makeContext(res, settle);
  const callback = (err, result) => settle(err, result, true);
  // A handler that neither returns a promise nor calls back answers null once nothing is pending.
  const onEmpty = () => settle(null, null, false);
  process.once("beforeExit", onEmpty);
  try {
    const event = body.length ? JSON.parse(body.toString("utf8")) : {};
    setRunEnvironment(event);
    const returned = handler(event, context, callback);
    if (returned && typeof returned.then === "function") {
      returned.then((value) => settle(null, value, false), (err) => settle(err ?? new Error("Rejected with " + err), undefined, false));
    }
  } catch (err) {
    settle(err, undefined, false);
  }
  const { err, result, viaCallback } = await outcome;
  process.removeListener("beforeExit", onEmpty);
  if (viaCallback && context.callbackWaitsForEmptyEventLoop) await waitForEmptyEventLoop();
  inFlight.answered = true;
  if (err !== null && err !== undefined) return postError(requestId, err);
  let payload;
  try {
    payload = JSON.stringify(result === undefined ? null : result);
  } catch (e) {
    return postError(requestId, e, "Runtime.MarshalError");
  }
  await request("POST", `/invocation/${requestId}/response`, payload, { "Content-Type": "application/json" });
}

async function main() {
  patchConsole();
  process.on("uncaughtException", (err) => fatal(err, "Runtime.UncaughtException"));
  process.on("unhandledRejection", (reason) => fatal(reason, "Runtime.UnhandledPromiseRejection"));
  let handler;
  try {
    handler = await loadHandler(process.env.LAMBDA_TASK_ROOT || process.cwd(), process.env._HANDLER || "");
  } catch (err) {
    const doc = errorDocument(err);
    console.error(JSON.stringify(doc));
    await request("POST", "/init/error", JSON.stringify(doc), {
      "Content-Type": "application/json",
      "Lambda-Runtime-Function-Error-Type": doc.errorType,
    }).catch(() => {});
    process.exit(1);
  }
  for (;;) {
    const { res, body } = await request("GET", "/invocation/next");
    if (res.statusCode !== 200) throw new Error(`Runtime API /next answered ${res.statusCode}: ${body}`);
    await invoke(handler, res, body);
  }
}

let dying = false;
async function fatal(err, type) {
  if (dying) return;
  dying = true;
  try {
    if (inFlight && !inFlight.answered) {
      inFlight.answered = true;
      const doc = errorDocument(err);
      await postError(inFlight.requestId, err, doc.errorType === "Error" ? type : undefined);
    } else {
      console.error(type, err && err.stack ? err.stack : err);
    }
  } finally {
    process.exit(129);
  }
}

main().catch((err) => {
  stderrWrite(`bootstrap: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
