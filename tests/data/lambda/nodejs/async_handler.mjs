// An ES module with an async handler, as `nodejs20.x` functions are written today.
let invocations = 0; // module state: survives between invocations of a warm environment
console.log("Loading function");

export const handler = async (event, context) => {
  invocations += 1;
  console.log("async handler invocation", invocations);
  await new Promise((resolve) => setTimeout(resolve, 1));
  return { count: invocations, pid: process.pid, requestId: context.awsRequestId,
           remaining: context.getRemainingTimeInMillis() > 0, fn: context.functionName };
};

export const fails = async (event) => {
  throw new TypeError("bad event " + JSON.stringify(event.what ?? null));
};

export const sleeps = async () => {
  await new Promise((resolve) => setTimeout(resolve, 60000));
  return "woke up";
};
