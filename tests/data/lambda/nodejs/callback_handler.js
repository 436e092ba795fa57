// A CommonJS module with a callback-style handler, as older Node.js functions are written.
let invocations = 0;

exports.handler = function (event, context, callback) {
  invocations += 1;
  console.log("callback handler invocation", invocations);
  setTimeout(() => callback(null, { count: invocations, pid: process.pid, style: "callback" }), 1);
};

exports.failsViaCallback = function (event, context, callback) {
  console.error("about to fail");
  callback(new Error("callback error"));
};

exports.crashes = function () {
  setTimeout(() => { throw new RangeError("thrown outside the handler"); }, 1);
};

exports.nested = { handler: async () => "nested ok" };

exports.runEnvironment = async () =>
  Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith("HIVEHOOK_")));
