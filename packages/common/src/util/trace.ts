// An opt-in timeline of where a write's time goes, for latency work
// (scripts/trace-write.sh). With REDRAFT_TRACE_DIR set in its environment,
// a process records events while the file <dir>/on exists and appends them,
// one "<monotonic µs> <event>" line each, to <dir>/<pid>.txt every 50 ms and
// at exit. Every process on a machine reads the same monotonic clock, so the
// files of a playground's stores merge into one timeline.
//
// Off (the default) an event costs its call site one property read:
// `if (trace.on) traceEvent(...)`. On, it costs a clock read and a string,
// which is meant for one client's requests (-c 1), not for a loaded store.
import { appendFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

/** True while events are recorded. */
export const trace = { on: false };

let lines: string[] = [];

/** Records one event (call it only while `trace.on`). */
export function traceEvent(event: string): void {
  lines.push(`${process.hrtime.bigint() / 1000n} ${event}`);
}

const POLL_MS = 50;

function start(dir: string): void {
  const file = join(dir, `${process.pid}.txt`);
  const flag = join(dir, 'on');
  let failed = false;
  const flush = (): void => {
    if (lines.length === 0 || failed) return;
    const text = lines.join('\n') + '\n';
    lines = [];
    try {
      appendFileSync(file, text);
    } catch (e) {
      // A diagnostic must not take the process down: say why once, and stop.
      failed = true;
      process.emitWarning(`REDRAFT_TRACE_DIR: cannot write ${file}: ${(e as Error).message}; tracing stopped`);
      clearInterval(timer);
      trace.on = false;
    }
  };
  const timer = setInterval(() => {
    trace.on = existsSync(flag);
    flush();
  }, POLL_MS);
  timer.unref();
  process.on('exit', flush);
}

const dir = process.env.REDRAFT_TRACE_DIR;
if (dir) start(dir);
