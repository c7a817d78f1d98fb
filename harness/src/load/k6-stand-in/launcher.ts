/**
 * Installs the k6 stand-in as an executable named `k6` in a folder, so a test
 * can put that folder first on PATH and run the harness's k6 engine without
 * the k6 binary.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Writes `DIR/k6`, a shell script that runs the stand-in's CLI with this Node and tsx; returns its path. */
export function installK6StandIn(dir: string): string {
  const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));
  const tsx = import.meta.resolve('tsx');
  const path = join(dir, 'k6');
  const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;
  writeFileSync(path, `#!/bin/sh\n# soma k6 stand-in (not k6): see ${cli}\nexec ${quote(process.execPath)} --import ${quote(tsx)} ${quote(cli)} "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}
