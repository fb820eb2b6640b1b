// Network partitions with iptables. Every rule lives in one chain of this
// run's own (REDRAFT-CHAOS-<pid>), jumped to from INPUT and OUTPUT; healing
// flushes the chain, and close() removes the jumps and the chain. close()
// also runs at process exit (normal end, error, SIGINT/SIGTERM), because a
// stale DROP rule on loopback would break every later test on the machine.
//
// Rules drop packets by (source, destination) address pair. Each process
// listens on and dials from its own 127.x.y.z address, so a pair names one
// link exactly; clients come from 127.0.0.1, which no rule names.
import { spawnSync } from 'node:child_process';

export class Firewall {
  readonly chain = `REDRAFT-CHAOS-${process.pid}`;
  private installed = false;
  private readonly cuts = new Set<string>();
  private readonly onExit = () => this.close();

  /** Why partitions cannot be made here (not root, no iptables binary, no permission), or undefined if they can. */
  static unavailable(): string | undefined {
    if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not running as root (iptables needs CAP_NET_ADMIN)';
    const r = spawnSync('iptables', ['-w', '-L', 'OUTPUT', '-n'], { encoding: 'utf8' });
    if (r.error) return `iptables cannot run: ${r.error.message}`;
    if (r.status !== 0) return `iptables -L OUTPUT failed: ${(r.stderr || r.stdout).trim()}`;
    return undefined;
  }

  /**
   * Removes the chains of earlier runs whose process is gone (a runner killed
   * with SIGKILL cannot clean up after itself).
   */
  static sweepStale(log: (line: string) => void): void {
    const listing = spawnSync('iptables', ['-w', '-S'], { encoding: 'utf8' }).stdout ?? '';
    for (const m of listing.matchAll(/^-N (REDRAFT-CHAOS-(\d+))$/gm)) {
      const [, chain, pid] = m;
      if (Number(pid) === process.pid || pidAlive(Number(pid))) continue;
      for (const hook of ['INPUT', 'OUTPUT']) for (let i = 0; i < 5 && spawnSync('iptables', ['-w', '-D', hook, '-j', chain]).status === 0; i++);
      spawnSync('iptables', ['-w', '-F', chain]);
      spawnSync('iptables', ['-w', '-X', chain]);
      log(`partition: removed the stale chain ${chain} of a run that is gone`);
    }
  }

  private run(args: string[], mayFail = false): boolean {
    const r = spawnSync('iptables', ['-w', ...args], { encoding: 'utf8' });
    if (r.status !== 0 && !mayFail) throw new Error(`iptables ${args.join(' ')}: ${(r.stderr || r.stdout || String(r.error)).trim()}`);
    return r.status === 0;
  }

  /** Creates the chain and the jumps to it. */
  install(): void {
    if (this.installed) return;
    this.run(['-N', this.chain]);
    process.on('exit', this.onExit);
    this.installed = true;
    this.run(['-I', 'INPUT', '-j', this.chain]);
    this.run(['-I', 'OUTPUT', '-j', this.chain]);
  }

  /** Drops every packet between a and b, both ways. */
  cut(a: string, b: string): void {
    this.install();
    for (const [s, d] of [[a, b], [b, a]]) {
      const k = `${s}>${d}`;
      if (this.cuts.has(k)) continue;
      this.run(['-A', this.chain, '-s', s, '-d', d, '-j', 'DROP']);
      this.cuts.add(k);
    }
  }

  /** Removes every cut (the chain stays, empty). */
  heal(): void {
    if (!this.installed) return;
    this.run(['-F', this.chain]);
    this.cuts.clear();
  }

  get active(): boolean {
    return this.cuts.size > 0;
  }

  /** The chain's current rules, for logs. */
  rules(): string {
    if (!this.installed) return '';
    return spawnSync('iptables', ['-w', '-S', this.chain], { encoding: 'utf8' }).stdout.trim();
  }

  /** Removes the jumps and the chain. Safe to call twice; never throws. */
  close(): void {
    if (!this.installed) return;
    this.installed = false;
    this.cuts.clear();
    process.removeListener('exit', this.onExit);
    // -D removes one jump per call; loop in case one was added twice.
    for (const hook of ['INPUT', 'OUTPUT']) for (let i = 0; i < 5 && this.run(['-D', hook, '-j', this.chain], true); i++);
    this.run(['-F', this.chain], true);
    this.run(['-X', this.chain], true);
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
