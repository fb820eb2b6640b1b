// A warning in the log when this process's event loop did not run for a
// while: a long synchronous piece of work, a paused process (SIGSTOP) or a
// starved host held it. Raft's elections and leases, forwarded commands and
// every client wait on the loop, so a stall explains what the other
// processes saw then; the fault suite's multi-second write gaps were traced
// through such silences (docs/chaos.md, "Stalls after a follower came back").
import type { Logger } from 'pino';

/** How often the watch looks at the clock. */
const CHECK_MS = 100;
/** A stall this long or longer is logged (an election timeout is 500-1000 ms). */
export const STALL_WARN_MS = 300;

/** Starts watching; returns the function that stops it. The timer never keeps the process alive. */
export function watchStalls(log: Logger, warnMs = STALL_WARN_MS): () => void {
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const late = now - last - CHECK_MS;
    last = now;
    if (late >= warnMs) log.warn({ stalledMs: Math.round(late) }, 'the event loop stalled');
  }, CHECK_MS);
  timer.unref();
  return () => clearInterval(timer);
}
