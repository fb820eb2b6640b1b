// Child processes for end-to-end tests: spawned in their own process group
// (so a playground's own children go with it), output to a log file, tracked
// in one registry so that every child is killed when the test process exits,
// however it exits (normal end, process.exit, SIGINT/SIGTERM/SIGHUP).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  /** Appended to (never truncated), so a restart keeps the earlier output. */
  logFile: string;
  cwd?: string;
  /** Merged over process.env. */
  env?: NodeJS.ProcessEnv;
  /** A short name for messages; defaults to the command. */
  name?: string;
}

export class ManagedProcess {
  readonly pid: number;
  exitInfo: ExitInfo | undefined;
  private readonly exitPromise: Promise<ExitInfo>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly logFile: string,
    readonly argv: readonly string[],
  ) {
    if (child.pid === undefined) throw new Error(`${name}: spawn failed`);
    this.pid = child.pid;
    this.exitPromise = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        live.delete(this);
        resolve(this.exitInfo);
      });
    });
  }

  /**
   * Resolves once the process has exited; never rejects. (The child does not
   * keep the event loop alive on its own; awaiting this does.)
   */
  get exited(): Promise<ExitInfo> {
    if (this.running) this.child.ref();
    return this.exitPromise;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** The whole log file (empty if it does not exist yet). */
  log(): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '';
  }

  /** The last `lines` lines of the log, for error messages. */
  logTail(lines = 60): string {
    const all = this.log().split('\n');
    return all.slice(Math.max(0, all.length - lines - 1)).join('\n');
  }

  /** "name (pid N) exited with code 1" — for messages. */
  describeExit(): string {
    const e = this.exitInfo;
    if (!e) return `${this.name} (pid ${this.pid}) is running`;
    return `${this.name} (pid ${this.pid}) exited with ${e.signal ? `signal ${e.signal}` : `code ${e.code}`}`;
  }
}

const live = new Set<ManagedProcess>();

/** Signals the whole process group of p (falls back to the pid alone). */
export function signalGroup(p: ManagedProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-p.pid, signal);
  } catch {
    try {
      process.kill(p.pid, signal);
    } catch {
      /* already gone */
    }
  }
}

/**
 * Pids of the live (not zombie) processes in p's process group, read from
 * /proc; where there is no /proc, [p.pid] if the group answers signal 0.
 */
export function groupMembers(p: ManagedProcess): number[] {
  if (!existsSync('/proc/self/stat')) {
    try {
      process.kill(-p.pid, 0);
      return [p.pid];
    } catch {
      return [];
    }
  }
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // pid (comm) state ppid pgrp ...; comm may contain spaces and parens.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] !== 'Z' && fields[0] !== 'X' && Number(fields[2]) === p.pid) out.push(Number(name));
  }
  return out;
}

/** True while any process of p's group (p or its children) is alive. */
export function groupAlive(p: ManagedProcess): boolean {
  return groupMembers(p).length > 0;
}

function killAllSync(): void {
  for (const p of live) signalGroup(p, 'SIGKILL');
  live.clear();
}

let hooksInstalled = false;
function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAllSync);
  for (const [sig, num] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]] as const) {
    process.once(sig, () => {
      killAllSync();
      process.exit(128 + num);
    });
  }
}

/**
 * Spawns cmd in a new process group with stdout and stderr appended to
 * opts.logFile. The child is killed (with its group) if this process exits.
 */
export function spawnManaged(cmd: string, args: readonly string[], opts: SpawnOptions): ManagedProcess {
  installExitHooks();
  const fd = openSync(opts.logFile, 'a');
  writeSync(fd, `=== ${new Date().toISOString()} start: ${[cmd, ...args].join(' ')}\n`);
  let child: ChildProcess;
  try {
    child = spawn(cmd, [...args], {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', fd, fd],
      detached: true, // own process group: we can kill it whole
    });
  } finally {
    closeSync(fd);
  }
  // A child must not keep the test process alive on its own (a forgotten
  // server would hang the test file); `exited` refs it while awaited.
  child.unref();
  const p = new ManagedProcess(opts.name ?? cmd, child, opts.logFile, [cmd, ...args]);
  live.add(p);
  child.once('error', () => {
    /* reported through 'exit' or spawn failure above */
  });
  return p;
}

/** Waits for p to exit, up to timeoutMs; returns undefined on timeout. */
export async function waitExit(p: ManagedProcess, timeoutMs: number): Promise<ExitInfo | undefined> {
  if (p.exitInfo) return p.exitInfo;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  try {
    return await Promise.race([p.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface StopResult extends ExitInfo {
  /** SIGTERM was not enough: it had to be killed with SIGKILL. */
  forced: boolean;
  /** Processes of its group outlived it and were killed (a leak to fix). */
  strays: boolean;
}

/**
 * Stops p gracefully: SIGTERM to p itself (a playground then stops its own
 * children), SIGKILL to its whole group after timeoutMs; awaits the exit and
 * finally sweeps any process of its group that is still alive.
 */
export async function stop(p: ManagedProcess, opts: { timeoutMs?: number } = {}): Promise<StopResult> {
  let forced = false;
  if (p.running) {
    try {
      process.kill(p.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
    if (!(await waitExit(p, opts.timeoutMs ?? 10_000))) {
      forced = true;
      signalGroup(p, 'SIGKILL');
      await p.exited;
    }
  }
  // Children of a group that was just SIGKILLed may take a moment to go.
  let strays = false;
  for (let i = 0; i < 50 && groupAlive(p); i++) {
    if (!forced) strays = true;
    signalGroup(p, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 20));
  }
  const e = p.exitInfo ?? (await p.exited);
  return { ...e, forced, strays };
}

/**
 * kill -9: SIGKILL to p and its whole process group at once (a machine
 * crash for a playground); awaits the exit. To crash one process of a
 * playground, use killPid with that process's pid.
 */
export async function kill9(p: ManagedProcess): Promise<ExitInfo> {
  signalGroup(p, 'SIGKILL');
  return p.exited;
}

/** Sends a signal to any pid (e.g. one store of a playground). */
export function killPid(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  process.kill(pid, signal);
}
