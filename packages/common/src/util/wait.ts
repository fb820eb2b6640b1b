// Waiting on a condition inside a process (a graceful stop waiting for its
// leaders to move, its writes to be answered): a poll, because what ends the
// wait (a message, a commit) has no event of its own to await.
import { setTimeout as sleep } from 'node:timers/promises';

/** Checks `busy` every `everyMs` until it is false or `timeoutMs` passed; resolves whether it ended in time. */
export async function waitWhile(busy: () => boolean, timeoutMs: number, everyMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (busy()) {
    if (Date.now() >= until) return false;
    await sleep(everyMs);
  }
  return true;
}
