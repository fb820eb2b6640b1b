// The playground's children, kept running: a child that dies unexpectedly is
// logged (exit code or signal, its log file and the log's last lines) and
// started again after a backoff (0.5 s doubling to 10 s, back to 0.5 s once a
// run lasted 30 s), for as long as the playground runs — or left down with
// restart off. The others keep serving meanwhile.
//
// Children get an IPC channel they never use: it closes when the playground
// dies, however it dies (even SIGKILL), and a child stops when it closes
// (serveUntilSignal), so no child outlives the playground.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { pingOnce } from '@redraft/common';
import type { Logger } from '@redraft/common';

/**
 * Node flags for every child, from REDRAFT_CHILD_NODE_FLAGS (space-separated):
 * how scripts/profile.sh runs the stores under `--cpu-prof`, which Node
 * refuses in NODE_OPTIONS.
 */
function childNodeFlags(): string[] {
  return (process.env.REDRAFT_CHILD_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
}

export interface ChildSpec {
  /** "store-2", "meta-1". */
  name: string;
  /** The RESP port it answers PING on once it serves. */
  port: number;
  /** Arguments after `node <entry>`. */
  args: string[];
  /** stdout and stderr are appended here. */
  logFile: string;
}

export interface SupervisorOptions {
  /** The script children run (bin/redraft.js). */
  entry: string;
  log: Logger;
  /** Start a dead child again (default); false leaves it down. */
  restart: boolean;
  /** First restart delay; doubled per quick death up to maxBackoffMs. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** A run at least this long resets the delay to initialBackoffMs. */
  stableAfterMs?: number;
}

/** One supervised child and what happened to it so far. */
export class Child {
  proc: ChildProcess | undefined;
  /** Set while its process runs. */
  running = false;
  /** How many times it has died unexpectedly. */
  deaths = 0;
  lastExit = '';
  startedAt = 0;
  /** Size of its log file when this run started: what this run wrote follows. */
  logOffset = 0;
  backoffMs: number;
  restartTimer: NodeJS.Timeout | undefined;

  constructor(readonly spec: ChildSpec, initialBackoffMs: number) {
    this.backoffMs = initialBackoffMs;
  }

  get name(): string {
    return this.spec.name;
  }

  get pid(): number | undefined {
    return this.running ? this.proc?.pid : undefined;
  }
}

export class Supervisor {
  readonly children: Child[] = [];
  private stopping = false;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly stableAfterMs: number;

  constructor(private readonly opts: SupervisorOptions) {
    this.initialBackoffMs = opts.initialBackoffMs ?? 500;
    this.maxBackoffMs = opts.maxBackoffMs ?? 10_000;
    this.stableAfterMs = opts.stableAfterMs ?? 30_000;
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  /** Starts a child and keeps it running from now on. */
  add(spec: ChildSpec): Child {
    const child = new Child(spec, this.initialBackoffMs);
    this.children.push(child);
    this.spawn(child);
    return child;
  }

  /**
   * Stops supervising (no more restarts) and stops the children: each group
   * in turn (stores, then metas), SIGTERM then SIGKILL after killAfterMs.
   */
  async stopAll(groups: Child[][], killAfterMs = 10_000): Promise<void> {
    this.stopping = true;
    for (const c of this.children) clearTimeout(c.restartTimer);
    for (const group of groups) await Promise.all(group.map((c) => stopChild(c, killAfterMs)));
  }

  /** Starts a run of child; a failure to even start it counts as a death. */
  private spawn(child: Child): void {
    child.startedAt = Date.now();
    try {
      this.spawnNow(child);
    } catch (e) {
      child.running = false;
      this.afterDeath(child, `could not be started: ${(e as Error).message}`, `see ${child.spec.logFile}`);
    }
  }

  private spawnNow(child: Child): void {
    const { spec } = child;
    const { log } = this.opts;
    const out = openSync(spec.logFile, 'a');
    let proc: ChildProcess;
    try {
      child.logOffset = fstatSync(out).size;
      proc = spawn(process.execPath, [...childNodeFlags(), this.opts.entry, ...spec.args], { stdio: ['ignore', out, out, 'ipc'] });
    } finally {
      closeSync(out); // the child has its own copy
    }
    child.proc = proc;
    child.running = true;
    proc.on('error', (e) => {
      log.error(`${spec.name}: ${e.message}`);
      // A process that never started gets no 'exit' event.
      if (proc.pid === undefined) this.onExit(child, proc, `spawn error ${e.message}`);
    });
    proc.on('exit', (code, signal) => this.onExit(child, proc, signal ? `signal ${signal}` : `code ${code}`));
    log.info(`${spec.name} started (pid ${proc.pid ?? '?'}, port ${spec.port}, log ${spec.logFile})`);
    if (child.deaths > 0) void this.announceWhenBack(child, proc);
  }

  private onExit(child: Child, proc: ChildProcess, how: string): void {
    if (child.proc !== proc || !child.running) return;
    child.running = false;
    // The log's last lines say why a child that failed on its own did.
    const tail = lastLines(child.spec.logFile, 5, child.logOffset).map((l) => `\n    ${summarize(l)}`).join('');
    this.afterDeath(child, `exited (${how})`, `it was pid ${proc.pid ?? '?'}; its log ${child.spec.logFile}${tail ? ` ends with:${tail}` : ' is empty'}`);
  }

  /** Logs the death (`what`: "exited (signal SIGKILL)") and schedules the restart. */
  private afterDeath(child: Child, what: string, details: string): void {
    if (this.stopping) return;
    const { log } = this.opts;
    child.deaths++;
    child.lastExit = what;
    if (!this.opts.restart) {
      log.error(`${child.name} ${what}; not restarting it (--no-restart); ${details}`);
      return;
    }
    // A child that ran for a while gets a quick restart again.
    if (Date.now() - child.startedAt >= this.stableAfterMs) child.backoffMs = this.initialBackoffMs;
    const delay = child.backoffMs;
    child.backoffMs = Math.min(child.backoffMs * 2, this.maxBackoffMs);
    log.warn(`${child.name} ${what}; restarting in ${delay / 1000} s (restart ${child.deaths}); ${details}`);
    child.restartTimer = setTimeout(() => {
      if (!this.stopping) this.spawn(child);
    }, delay);
  }

  /** Logs "<name> is back" once the restarted process answers PING. */
  private async announceWhenBack(child: Child, proc: ChildProcess): Promise<void> {
    while (child.proc === proc && child.running && !this.stopping) {
      if (await pingOnce(child.spec.port)) {
        if (child.proc === proc && child.running) this.opts.log.info(`${child.name} is back (pid ${proc.pid}, port ${child.spec.port})`);
        return;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

function stopChild(c: Child, killAfterMs: number): Promise<void> {
  const proc = c.proc;
  if (!proc || !c.running) return Promise.resolve();
  return new Promise((res) => {
    const killer = setTimeout(() => proc.kill('SIGKILL'), killAfterMs);
    proc.once('exit', () => {
      clearTimeout(killer);
      res();
    });
    proc.kill('SIGTERM');
  });
}

/** The last n lines the file got after byte `from` (at most its last 8 KiB), none if unreadable. */
export function lastLines(file: string, n: number, from = 0): string[] {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const size = fstatSync(fd).size;
    const start = Math.max(from, size - 8192);
    const buf = Buffer.alloc(size - start);
    readSync(fd, buf, 0, buf.length, start);
    const lines = buf.toString('utf8').split('\n');
    if (start > from) lines.shift(); // cut in the middle
    return lines.filter((l) => l.trim() !== '').slice(-n);
  } catch {
    return [];
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** A child's pino JSON line as "LEVEL msg: err.message"; other lines as they are (both cut at 300 characters). */
export function summarize(line: string): string {
  let text = line;
  try {
    const o = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
    if (typeof o.msg === 'string') text = `${LEVELS[o.level ?? 0] ?? o.level ?? ''} ${o.msg}${o.err?.message ? `: ${o.err.message}` : ''}`.trim();
  } catch {
    /* not JSON: as it is */
  }
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
