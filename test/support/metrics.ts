// A process's Prometheus text, read the way an operator's scraper would.

/** One counter or gauge of the Prometheus text served on `port`; throws if the process does not export it. */
export async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = new RegExp(`^${name} (\\d+)`, 'm').exec(text);
  if (!m) throw new Error(`no ${name} in the metrics on port ${port}`);
  return Number(m[1]);
}
