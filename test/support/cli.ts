// Debian's redis-cli as a test client (REDIS_CLI overrides the binary).
import { spawn } from 'node:child_process';

export interface CliOptions {
  /** true: --raw; false: --no-raw (the "(integer) 1" form); undefined: redis-cli's default (raw when not a tty). */
  raw?: boolean;
  host?: string;
  /** More redis-cli flags, e.g. ['-c'] or ['-3']. */
  flags?: string[];
  /** Default 10 s. */
  timeoutMs?: number;
}

export interface CliResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

/**
 * Runs redis-cli against port. `input` is either the command's arguments
 * (['SET', 'k', 'v']) or a script fed on stdin (one command per line).
 * Resolves with stdout, stderr and the exit code.
 */
export function redisCliResult(port: number, input: string[] | string, opts: CliOptions = {}): Promise<CliResult> {
  const argv = ['-h', opts.host ?? '127.0.0.1', '-p', String(port)];
  if (opts.raw === true) argv.push('--raw');
  if (opts.raw === false) argv.push('--no-raw');
  argv.push(...(opts.flags ?? []));
  if (Array.isArray(input)) argv.push(...input);
  const bin = process.env.REDIS_CLI ?? 'redis-cli';
  return new Promise((resolve, reject) => {
    const child = spawn(bin, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-cli ${argv.join(' ')}: no exit within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), code });
    });
    child.stdin.on('error', () => {
      /* the cli may exit before reading all of stdin */
    });
    child.stdin.end(Array.isArray(input) ? '' : input);
  });
}

/**
 * Like redisCliResult, resolving with stdout only; rejects if redis-cli
 * exits non-zero (e.g. cannot connect). A Redis error reply is normal output
 * ("ERR ..." or "(error) ERR ..."), not a rejection.
 */
export async function redisCli(port: number, input: string[] | string, opts: CliOptions = {}): Promise<string> {
  const r = await redisCliResult(port, input, opts);
  if (r.code !== 0) {
    throw new Error(`redis-cli -p ${port} exited with code ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  }
  return r.stdout;
}
