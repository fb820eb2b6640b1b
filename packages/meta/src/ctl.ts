// `redraft ctl ...`: operator commands against the meta's admin port (any
// replica: a follower forwards to the leader). split-region and
// transfer-leader create an operator, then wait for it and show progress (a
// live status line on a terminal, plain lines otherwise); they exit 0 when it
// is done, 1 when it failed, timed out or was cancelled (with the reason), 2
// for bad arguments. cluster-status prints stores, regions, leaders, epochs,
// sizes and running operators as tables, or --json.
import type { Command } from 'commander';
import { OptionError, RespClient, RespClientError, parseAddress, type ClientValue } from '@redraft/common';

const DEFAULT_META = '127.0.0.1:7000';
const POLL_MS = 200;

/** Exit codes: the operator failed / bad usage. */
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

class CtlError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

function positiveInt(what: string, v: string): number {
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v)) || Number(v) < 1) throw new CtlError(`${what} must be a positive integer, got '${v}'`, EXIT_USAGE);
  return Number(v);
}

function metaAddrs(v: string): Array<{ host: string; port: number }> {
  const out = String(v)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((a) => {
      try {
        return parseAddress(a);
      } catch {
        throw new CtlError(`--meta: expected host:port of a meta admin port, got '${a}'`, EXIT_USAGE);
      }
    });
  if (out.length === 0) throw new CtlError('--meta: no address given', EXIT_USAGE);
  return out;
}

/** A connection to the first meta replica that answers. */
async function connectMeta(addrs: Array<{ host: string; port: number }>): Promise<RespClient> {
  const errors: string[] = [];
  for (const a of addrs) {
    try {
      return await RespClient.connect(a.host, a.port);
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  throw new CtlError(`no meta replica answers: ${errors.join('; ')}`, EXIT_FAILED);
}

/** A RESP2 map (a flat [k, v, ...] array) as an object. */
function asMap(v: ClientValue): Record<string, ClientValue> {
  const out: Record<string, ClientValue> = {};
  if (!Array.isArray(v)) return out;
  for (let i = 0; i + 1 < v.length; i += 2) out[String(v[i])] = v[i + 1];
  return out;
}

/** `k=v k=v ...` lines (a trailing `reason="..."` keeps its spaces) as objects. */
export function parseLines(text: string): Array<Record<string, string>> {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((line) => {
      const rec: Record<string, string> = {};
      const reasonAt = line.indexOf(' reason=');
      const head = reasonAt >= 0 ? line.slice(0, reasonAt) : line;
      for (const kv of head.split(/\s+/)) {
        const i = kv.indexOf('=');
        if (i > 0) rec[kv.slice(0, i)] = kv.slice(i + 1);
      }
      if (reasonAt >= 0) {
        const raw = line.slice(reasonAt + ' reason='.length);
        try {
          rec.reason = JSON.parse(raw) as string;
        } catch {
          rec.reason = raw;
        }
      }
      return rec;
    });
}

function fail(e: unknown): never {
  const code = e instanceof CtlError ? e.code : EXIT_FAILED;
  const msg = e instanceof RespClientError ? `the meta refused: ${e.message}` : (e as Error).message;
  process.stderr.write(`redraft ctl: ${msg}\n`);
  process.exit(code);
}

// ---- waiting for an operator ----------------------------------------------------------

interface OperatorView {
  id: number;
  state: string;
  step: number;
  steps: string[];
  reason: string;
  ageMs: number;
  timeoutMs: number;
}

async function showOperator(client: RespClient, id: number): Promise<OperatorView> {
  const m = asMap(await client.call(['OPERATOR', 'SHOW', id]));
  if (!m.id) throw new CtlError(`operator ${id} is not known to the meta`, EXIT_FAILED);
  return {
    id,
    state: String(m.state),
    step: Number(m.step),
    steps: Array.isArray(m.steps) ? m.steps.map(String) : [],
    reason: String(m.reason ?? ''),
    ageMs: Number(m.age_ms),
    timeoutMs: Number(m.timeout_ms),
  };
}

/**
 * Polls the operator until it ends, showing progress: a status line that
 * rewrites itself on a TTY, a plain line per change (and every 5 s) otherwise.
 */
async function waitOperator(client: RespClient, id: number, what: string, waitMs: number): Promise<OperatorView> {
  const tty = !!process.stdout.isTTY;
  const started = Date.now();
  let lastLine = '';
  let lastPrinted = 0;
  for (;;) {
    const op = await showOperator(client, id);
    const line = `${what}: operator ${id} ${op.state}, step ${Math.min(op.step + 1, op.steps.length)}/${op.steps.length} (${(op.ageMs / 1000).toFixed(1)} s of ${(op.timeoutMs / 1000).toFixed(0)} s)`;
    if (tty) process.stdout.write(`\r\x1b[K${line}`);
    else if (line.replace(/\(.*\)$/, '') !== lastLine.replace(/\(.*\)$/, '') || Date.now() - lastPrinted >= 5000) {
      process.stdout.write(line + '\n');
      lastPrinted = Date.now();
    }
    lastLine = line;
    if (op.state !== 'running') {
      if (tty) process.stdout.write('\n');
      return op;
    }
    if (Date.now() - started > waitMs) {
      if (tty) process.stdout.write('\n');
      throw new CtlError(`operator ${id} is still running after ${Math.round(waitMs / 1000)} s; see 'redraft ctl cluster-status' or OPERATOR SHOW ${id}`, EXIT_FAILED);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

async function runOperator(o: { meta: string; wait: boolean; timeout: string }, create: (string | number)[], what: string, done: (op: OperatorView) => string): Promise<void> {
  const waitMs = positiveInt('--timeout', o.timeout) * 1000;
  const client = await connectMeta(metaAddrs(o.meta));
  try {
    const id = Number(await client.call(create));
    if (!o.wait) {
      process.stdout.write(`${what}: operator ${id} created\n`);
      return;
    }
    const op = await waitOperator(client, id, what, waitMs);
    if (op.state !== 'done') throw new CtlError(`operator ${id} ${op.state}: ${op.reason || 'no reason given'}`, EXIT_FAILED);
    process.stdout.write(done(op) + '\n');
  } finally {
    client.close();
  }
}

/** Polls STORE LIST and REGION LIST until the store is removed, showing how many replicas it still holds. */
async function waitDrain(client: RespClient, storeId: number, waitMs: number): Promise<void> {
  const tty = !!process.stdout.isTTY;
  const started = Date.now();
  let last = '';
  for (;;) {
    const store = parseLines(String(await client.call(['STORE', 'LIST']))).find((s) => s.id === String(storeId));
    if (!store) throw new CtlError(`store ${storeId} is not known to the meta`, EXIT_FAILED);
    const left = parseLines(String(await client.call(['REGION', 'LIST']))).filter((r) => (r.peers ?? '').split(',').some((p) => p.replace(/\(learner\)$/, '').endsWith(`@${storeId}`))).length;
    const line = `drain store ${storeId}: ${store.state}, ${left} replicas left (${((Date.now() - started) / 1000).toFixed(1)} s)`;
    if (tty) process.stdout.write(`\r\x1b[K${line}`);
    else if (line.replace(/\(.*\)$/, '') !== last.replace(/\(.*\)$/, '')) process.stdout.write(line + '\n');
    last = line;
    if (store.state === 'removed') {
      if (tty) process.stdout.write('\n');
      process.stdout.write(`done: store ${storeId} drained and removed (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
      return;
    }
    if (Date.now() - started > waitMs) {
      if (tty) process.stdout.write('\n');
      throw new CtlError(`store ${storeId} still holds ${left} replicas after ${Math.round(waitMs / 1000)} s; see 'redraft ctl cluster-status'`, EXIT_FAILED);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

// ---- cluster-status ------------------------------------------------------------------

export interface ClusterStatus {
  state: string;
  viewVersion: number;
  stores: Array<Record<string, string>>;
  regions: Array<Record<string, string>>;
  operators: Array<Record<string, string>>;
}

async function clusterStatus(client: RespClient): Promise<ClusterStatus> {
  const info = String(await client.call(['CLUSTER', 'INFO']));
  const field = (k: string): string => new RegExp(`^${k}:(.*)$`, 'm').exec(info)?.[1].trim() ?? '';
  return {
    state: field('cluster_state'),
    viewVersion: Number(field('meta_view_version')),
    stores: parseLines(String(await client.call(['STORE', 'LIST']))),
    regions: parseLines(String(await client.call(['REGION', 'LIST']))),
    operators: await withCurrentStep(client, parseLines(String(await client.call(['OPERATOR', 'LIST'])))),
  };
}

/** Running operators get `now`: what their current step does (from OPERATOR SHOW). */
async function withCurrentStep(client: RespClient, ops: Array<Record<string, string>>): Promise<Array<Record<string, string>>> {
  for (const o of ops) {
    if (o.state !== 'running') continue;
    const m = asMap(await client.call(['OPERATOR', 'SHOW', o.id]));
    const steps = Array.isArray(m.steps) ? m.steps.map(String) : [];
    o.now = steps[Number(m.step)] ?? '';
  }
  return ops;
}

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [fmt(headers), ...rows.map(fmt)].join('\n');
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

export function formatStatus(s: ClusterStatus): string {
  const up = s.stores.filter((x) => x.state === 'up').length;
  const running = s.operators.filter((o) => o.state === 'running');
  const under = s.regions.filter((r) => r.under_replicated === 'yes');
  const out: string[] = [];
  out.push(`cluster ${s.state}, view version ${s.viewVersion}: ${up}/${s.stores.length} stores up, ${s.regions.length} regions, ${running.length} running operators`);
  out.push(under.length ? `under-replicated regions: ${under.map((r) => r.id).join(', ')}` : 'every region fully replicated');
  out.push('');
  out.push(
    table(
      ['STORE', 'CLIENT ADDR', 'PEER ADDR', 'STATE', 'REGIONS', 'LEADERS', 'HEARTBEAT'],
      s.stores.map((x) => [x.id, x.client_addr, x.peer_addr, x.state, x.regions, x.leaders, Number(x.last_heartbeat_ms_ago) >= 0 ? `${(Number(x.last_heartbeat_ms_ago) / 1000).toFixed(1)} s ago` : 'never']),
    ),
  );
  out.push('');
  out.push(
    table(
      ['REGION', 'SLOTS', 'EPOCH', 'LEADER', 'TERM', 'PEERS (peer@store)', 'KEYS', 'SIZE', 'REPLICAS'],
      s.regions.map((r) => [r.id, r.slots, r.epoch, r.leader_store && r.leader_store !== '0' ? `store ${r.leader_store}` : '-', r.term, r.peers, r.keys, bytes(Number(r.bytes)), r.under_replicated === 'yes' ? 'UNDER' : 'ok']),
    ),
  );
  out.push('');
  if (running.length === 0) out.push('no running operators');
  else out.push(table(['OPERATOR', 'REGION', 'KIND', 'CREATOR', 'STEP', 'AGE', 'NOW'], running.map((o) => [o.id, o.region, o.kind, o.creator, o.step, `${(Number(o.age_ms) / 1000).toFixed(1)} s`, o.now ?? ''])));
  return out.join('\n');
}

// ---- registration ----------------------------------------------------------------------

function action<A extends unknown[]>(f: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await f(...args);
    } catch (e) {
      if (e instanceof OptionError) fail(new CtlError(e.message, EXIT_USAGE));
      fail(e);
    }
  };
}

export function registerCtlCommand(program: Command): void {
  const ctl = program
    .command('ctl')
    .description('operator commands against the meta admin port: split-region, transfer-leader, move-region, merge-region, drain-store, cluster-status')
    // Usage errors exit 2, as every other bad argument here (help still exits 0).
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE));
  const metaOpt = ['--meta <addrs>', 'meta admin address(es), host:port, comma-separated (any replica works)', DEFAULT_META] as const;

  ctl
    .command('split-region')
    .description('split a region at a slot (default: the middle of its slots) and wait until the new region serves')
    .argument('<region-id>', 'the region to split (see cluster-status)')
    .argument('[slot]', 'first slot of the new region; it takes [slot, end of the region)')
    .option(...metaOpt)
    .option('--timeout <seconds>', 'how long to wait for the operator', '90')
    .option('--no-wait', 'return as soon as the operator is created')
    .action(
      action(async (regionArg: string, slotArg: string | undefined, o: { meta: string; wait: boolean; timeout: string }) => {
        const regionId = positiveInt('region id', regionArg);
        if (slotArg !== undefined && (!/^\d+$/.test(slotArg) || Number(slotArg) > 16383)) throw new CtlError(`slot must be an integer in 0-16383, got '${slotArg}'`, EXIT_USAGE);
        const create = ['REGION', 'SPLIT', regionId, ...(slotArg === undefined ? [] : [slotArg])];
        await runOperator(o, create, `split region ${regionId}`, (op) => `done: ${op.steps[0] ?? ''} (${(op.ageMs / 1000).toFixed(1)} s)`);
      }),
    );

  ctl
    .command('transfer-leader')
    .description("move a region's leader to its voter on a store and wait until that voter leads")
    .argument('<region-id>', 'the region')
    .argument('<store-id>', 'the store whose replica should lead')
    .option(...metaOpt)
    .option('--timeout <seconds>', 'how long to wait for the operator', '60')
    .option('--no-wait', 'return as soon as the operator is created')
    .action(
      action(async (regionArg: string, storeArg: string, o: { meta: string; wait: boolean; timeout: string }) => {
        const regionId = positiveInt('region id', regionArg);
        const storeId = positiveInt('store id', storeArg);
        await runOperator(o, ['REGION', 'TRANSFER-LEADER', regionId, storeId], `transfer the leader of region ${regionId} to store ${storeId}`, (op) => `done: store ${storeId} leads region ${regionId} (${(op.ageMs / 1000).toFixed(1)} s)`);
      }),
    );

  ctl
    .command('move-region')
    .description("move a region's replica from one store to another and wait until the old one is removed")
    .argument('<region-id>', 'the region')
    .argument('<from-store>', 'the store whose replica leaves')
    .argument('<to-store>', 'the store that gets the new replica')
    .option(...metaOpt)
    .option('--timeout <seconds>', 'how long to wait for the operator', '600')
    .option('--no-wait', 'return as soon as the operator is created')
    .action(
      action(async (regionArg: string, fromArg: string, toArg: string, o: { meta: string; wait: boolean; timeout: string }) => {
        const regionId = positiveInt('region id', regionArg);
        const from = positiveInt('source store id', fromArg);
        const to = positiveInt('target store id', toArg);
        if (from === to) throw new CtlError(`the source and target store are the same (${from})`, EXIT_USAGE);
        await runOperator(o, ['REGION', 'MOVE', regionId, from, to], `move region ${regionId} from store ${from} to store ${to}`, (op) =>
          `done: region ${regionId} moved from store ${from} to store ${to} (${(op.ageMs / 1000).toFixed(1)} s)`,
        );
      }),
    );

  ctl
    .command('merge-region')
    .description('merge a region into its adjacent neighbour on the same stores and wait until the neighbour serves both')
    .argument('<region-id>', 'the region that goes (see cluster-status)')
    .argument('[target-region-id]', 'the adjacent region that takes it (default: the one after it, else the one before)')
    .option(...metaOpt)
    .option('--timeout <seconds>', 'how long to wait for the operator', '120')
    .option('--no-wait', 'return as soon as the operator is created')
    .action(
      action(async (regionArg: string, targetArg: string | undefined, o: { meta: string; wait: boolean; timeout: string }) => {
        const regionId = positiveInt('region id', regionArg);
        const target = targetArg === undefined ? undefined : positiveInt('target region id', targetArg);
        if (target === regionId) throw new CtlError(`a region cannot merge into itself (${regionId})`, EXIT_USAGE);
        const create = ['REGION', 'MERGE', regionId, ...(target === undefined ? [] : [target])];
        await runOperator(o, create, `merge region ${regionId}`, (op) => `done: ${op.steps[op.steps.length - 1] ?? ''} (${(op.ageMs / 1000).toFixed(1)} s)`);
      }),
    );

  ctl
    .command('drain-store')
    .description('remove a store: its replicas move to the other stores, then it is marked removed (and refused if it comes back)')
    .argument('<store-id>', 'the store to drain (see cluster-status)')
    .option(...metaOpt)
    .option('--timeout <seconds>', 'how long to wait for the drain', '1800')
    .option('--no-wait', 'return as soon as the drain has started')
    .action(
      action(async (storeArg: string, o: { meta: string; wait: boolean; timeout: string }) => {
        const storeId = positiveInt('store id', storeArg);
        const waitMs = positiveInt('--timeout', o.timeout) * 1000;
        const client = await connectMeta(metaAddrs(o.meta));
        try {
          await client.call(['STORE', 'REMOVE', storeId]);
          if (!o.wait) {
            process.stdout.write(`drain store ${storeId}: started\n`);
            return;
          }
          await waitDrain(client, storeId, waitMs);
        } finally {
          client.close();
        }
      }),
    );

  ctl
    .command('cluster-status')
    .description('stores, regions (slots, epochs, leaders, sizes) and running operators')
    .option(...metaOpt)
    .option('--json', 'one JSON object instead of tables')
    .action(
      action(async (o: { meta: string; json?: boolean }) => {
        const client = await connectMeta(metaAddrs(o.meta));
        try {
          const s = await clusterStatus(client);
          process.stdout.write((o.json ? JSON.stringify(s, null, 2) : formatStatus(s)) + '\n');
        } finally {
          client.close();
        }
      }),
    );
}
