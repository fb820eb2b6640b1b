// ioredis clients for the cluster tests of blocking commands, and the
// blocked-client count a store reports.
import { after } from 'node:test';
import Redis from 'ioredis';
import { respMany } from './simple-resp';

/**
 * A maker of plain ioredis clients that fail fast (no offline queue, no
 * resend) and reconnect every 50 ms; every client it made is disconnected at
 * the end of the file, whatever happened (one left reconnecting would keep
 * the file from exiting). Call it at the top level of a test file.
 */
export function ioredisClients(): (port: number) => Redis {
  const clients: Redis[] = [];
  after(() => clients.forEach((r) => r.disconnect()));
  return (port) => {
    const r = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, enableOfflineQueue: false, autoResendUnfulfilledCommands: false, retryStrategy: () => 50 });
    r.on('error', () => {});
    clients.push(r);
    return r;
  };
}

/** `blocked_clients` from the store's INFO clients. */
export async function blockedClients(s: { port: number }): Promise<number> {
  const [info] = await respMany(s.port, [['INFO', 'clients']]);
  return Number(/blocked_clients:(\d+)/.exec(String(info))?.[1] ?? 0);
}
