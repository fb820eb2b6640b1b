/**
 * Swaps a barrel module's exports for a plain object holding the same values.
 * TypeScript compiles each re-export (`export *`, `export { X } from`) to a
 * getter, and in CommonJS every use of an imported name
 * (`common_1.encodeFrame(...)`) calls it: a shared getter body with a
 * megamorphic keyed load, 1-2 % of a store's main thread under GET `-P 16`
 * (docs/performance.md, step 21); a load from the plain object costs about
 * half. A barrel calls this last, when everything it re-exports has loaded.
 * Nothing exported is reassigned after load (no `export let`), so the copy
 * sees what the getters would; nothing requires a barrel in a cycle, so no
 * module holds the old object.
 */
export function settleExports(mod: NodeJS.Module): void {
  const settled: Record<string, unknown> = {};
  const current = mod.exports as Record<string, unknown>;
  for (const name of Object.keys(current)) settled[name] = current[name];
  // What TypeScript's interop helpers (__importStar, __importDefault) look for.
  Object.defineProperty(settled, '__esModule', { value: true });
  mod.exports = settled;
}
