// The benchmark's Node.js Lambda handler: its first act is to append "<unix seconds> <name>\n" to
// $BENCH_LOG (one O_APPEND write), like bench/jobs/stamp.c does for command jobs. The wall clock
// is performance.timeOrigin + performance.now() (microseconds, not Date.now()'s milliseconds).
import fs from "node:fs";
import { performance } from "node:perf_hooks";

const log = fs.openSync(process.env.BENCH_LOG, "a");

export const handler = async (event) => {
  const ms = performance.timeOrigin + performance.now();
  const name = event.hivehook.key.split("/").pop();
  fs.writeSync(log, `${(ms / 1000).toFixed(6)} ${name}\n`);
};
