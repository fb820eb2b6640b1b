export function main(_argv: string[]): void { console.error("not yet"); process.exitCode = 1; }
