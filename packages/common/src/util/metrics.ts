// Prometheus text on GET /metrics over HTTP, with prom-client (a well-kept
// library: exposition format, metric types, process metrics). Each process
// registers gauges whose values are read when scraped.
import * as http from 'node:http';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export { Registry };

/** A registry with Node's process metrics (CPU, memory, event loop lag). */
export function newRegistry(prefix: string): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix });
  return registry;
}

/** A gauge read at scrape time: one sample, or one per label set. */
export function gaugeOf(
  registry: Registry,
  name: string,
  help: string,
  read: () => number | Array<[Record<string, string>, number]>,
  /** The label names, when the first read may have no sample to learn them from (prom-client fixes them at registration). */
  labels?: string[],
): void {
  const labelNames =
    labels ??
    (() => {
      const v = read();
      return Array.isArray(v) && v.length ? Object.keys(v[0][0]) : [];
    })();
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      const v = read();
      this.reset();
      if (Array.isArray(v)) for (const [labels, n] of v) this.set(labels, n);
      else this.set(v);
    },
  });
}

/** A counter read at scrape time from a cumulative value kept elsewhere. */
export function counterOf(registry: Registry, name: string, help: string, read: () => number): void {
  let last = 0;
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const v = read();
      if (v > last) this.inc(v - last);
      last = Math.max(last, v);
    },
  });
}

/** Serves the registry on http://host:port/metrics. */
export async function serveMetrics(registry: Registry, host: string, port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/metrics' || req.url?.startsWith('/metrics?'))) {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        (e: Error) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`metrics failed: ${e.message}\n`);
        },
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found: try /metrics\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
