// The kind of a perf sample's frame, shared by scripts/perf-summary.mjs
// (self time by kind) and scripts/flamegraph.mjs (a frame's colour): the
// kernel, the RocksDB binding (RocksDB runs inside it), JavaScript compiled
// by V8, V8's optimizing compiler and garbage collector, the C libraries,
// and the rest of V8 and Node. `dso` may be a path (perf script) or a name
// (perf report).
export const KINDS = {
  kernel: 'kernel',
  rocksdb: 'RocksDB binding (and RocksDB)',
  js: 'JavaScript (compiled by V8)',
  compiler: 'V8 optimizing compiler',
  gc: 'V8 garbage collector',
  libc: 'C libraries (malloc, memcpy...)',
  runtime: 'rest of V8 and Node (builtins, ICs, interpreter, libuv)',
};

/** One of KINDS' keys. */
export function kindOf(dso, sym) {
  const lib = dso.replace(/^.*\//, '');
  if (lib === '[kernel.kallsyms]') return 'kernel';
  if (lib.includes('.node')) return 'rocksdb';
  if (dso.startsWith('[JIT]') || sym.startsWith('JS:')) return 'js';
  if (/compiler::|maglev|Maglev|CompileLazy|Compiler|turboshaft/.test(sym)) return 'compiler';
  if (/Scavenge|Marking|MarkCompact|Sweep|Evacuat|Heap::|GCTracer|ConcurrentMarking/.test(sym)) return 'gc';
  if (/^libc|^libstdc|^libm|^ld-linux/.test(lib)) return 'libc';
  return 'runtime';
}
