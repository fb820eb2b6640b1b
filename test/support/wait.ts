// Polling instead of sleeping: waitFor(condition) retries until it holds.
import { connect } from 'node:net';
import type { ManagedProcess } from './proc';

export interface WaitOptions {
  /** Default 10 s. */
  timeoutMs?: number;
  /** Delay between polls, default 50 ms. */
  intervalMs?: number;
  /** What is awaited, for the error message ("port 6379 to answer PING"). */
  what?: string;
  /** Give up at once if this process exits meanwhile (its log goes in the error). */
  proc?: ManagedProcess;
  /** An error thrown by the condition for which this returns true ends the wait at once (rethrown). */
  rethrow?: (e: unknown) => boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls condition until it returns a truthy value (which is returned) or
 * timeoutMs passes. A condition that throws counts as "not yet"; its last
 * error is quoted if the wait times out.
 */
export async function waitFor<T>(condition: () => T | Promise<T>, opts: WaitOptions = {}): Promise<NonNullable<T>> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 50;
  const what = opts.what ?? 'condition';
  const start = Date.now();
  let lastError: unknown;
  for (;;) {
    try {
      const v = await condition();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      if (opts.rethrow?.(e)) throw e;
      lastError = e;
    }
    if (opts.proc && !opts.proc.running) {
      throw new Error(`while waiting for ${what}: ${opts.proc.describeExit()}\n--- ${opts.proc.logFile} (tail) ---\n${opts.proc.logTail()}`);
    }
    if (Date.now() - start >= timeoutMs) {
      const last = lastError ? ` (last error: ${lastError instanceof Error ? lastError.message : String(lastError)})` : '';
      const log = opts.proc ? `\n--- ${opts.proc.logFile} (tail) ---\n${opts.proc.logTail()}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last}${log}`);
    }
    await sleep(intervalMs);
  }
}

/**
 * Sends one RESP command over a fresh connection and resolves with the first
 * reply line (e.g. "+PONG"), or rejects on connection error / timeout.
 */
export function sendLine(port: number, args: string[], opts: { host?: string; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ port, host: opts.host ?? '127.0.0.1' });
    let buf = '';
    const done = (err: Error | undefined, line?: string) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(line ?? '');
    };
    const timer = setTimeout(() => done(new Error(`no reply from port ${port} within ${opts.timeoutMs ?? 1000} ms`)), opts.timeoutMs ?? 1000);
    sock.setEncoding('utf8');
    sock.once('error', (e) => done(e));
    sock.once('connect', () => {
      sock.write(`*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join(''));
    });
    sock.on('data', (d: string) => {
      buf += d;
      const i = buf.indexOf('\r\n');
      if (i >= 0) done(undefined, buf.slice(0, i));
    });
    sock.once('close', () => done(new Error(`port ${port} closed the connection`)));
  });
}

/** True if host:port answers PING with +PONG (false on any error). */
export async function ping(port: number, host = '127.0.0.1'): Promise<boolean> {
  try {
    return (await sendLine(port, ['PING'], { host })) === '+PONG';
  } catch {
    return false;
  }
}

/** Waits until every port answers PING with PONG. */
export async function waitForPing(ports: number | number[], opts: Omit<WaitOptions, 'what'> & { what?: string } = {}): Promise<void> {
  const list = Array.isArray(ports) ? ports : [ports];
  for (const port of list) {
    await waitFor(() => ping(port), { timeoutMs: 30_000, ...opts, what: opts.what ?? `port ${port} to answer PING with PONG` });
  }
}

/** Waits until nothing accepts connections on port any more. */
export async function waitForClosed(port: number, opts: WaitOptions = {}): Promise<void> {
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const s = connect({ port, host: '127.0.0.1' });
        s.once('connect', () => {
          s.destroy();
          resolve(false);
        });
        s.once('error', () => resolve(true));
      }),
    { what: `port ${port} to close`, ...opts },
  );
}
