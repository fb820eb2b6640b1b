// How every redraft process lives: flag values checked first (a bad one exits
// with status 2 and names the flag), then a service that runs until SIGTERM
// or SIGINT and stops cleanly.
import type { Logger } from 'pino';
import { OptionError } from './options';
import { watchStalls } from './stall-watch';

/** f(), or exit 2 with the message of the OptionError it threw. */
export function checkOption<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof OptionError) {
      console.error(`redraft: ${e.message}`);
      process.exit(2);
    }
    throw e;
  }
}

/**
 * Starts a service (exit 1 if it cannot start) and stops it on SIGTERM/SIGINT.
 *
 * A process the playground spawned has an IPC channel to it (and nothing
 * else does). Such a supervised process also stops when that channel closes —
 * which the kernel does however the playground ends, even by SIGKILL — so it
 * is never orphaned. It ignores SIGINT: Ctrl-C in a terminal signals the whole
 * foreground group, and the playground itself stops its children in order
 * (stores first, then metas) with SIGTERM.
 */
export async function serveUntilSignal(name: string, log: Logger, start: () => Promise<{ stop(): Promise<void> }>): Promise<void> {
  const supervised = process.channel !== undefined;
  let service: { stop(): Promise<void> } | undefined;
  let stopping = false;
  const stop = (why: string, signal?: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    if (!service) {
      // Still starting: nothing to finish yet (a crash is safe), and start()
      // may wait for a peer that never comes — end now, as the signal would.
      if (!signal) process.exit(1);
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
      return;
    }
    log.info(`${name} stopping (${why})`);
    service.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM', 'SIGTERM'));
  if (supervised) {
    process.on('SIGINT', () => {});
    process.on('disconnect', () => stop('the playground that started it is gone'));
    // The channel must not keep this process alive by itself.
    process.channel?.unref();
    if (!process.connected) stop('the playground that started it is gone');
  } else {
    process.on('SIGINT', () => stop('SIGINT', 'SIGINT'));
  }
  service = await start().catch((e) => {
    log.fatal({ err: e }, `${name} failed to start`);
    process.exit(1);
  });
  watchStalls(log);
}
