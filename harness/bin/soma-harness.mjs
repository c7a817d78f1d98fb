#!/usr/bin/env node
// Entry point of the soma-harness CLI: registers the tsx loader so the
// TypeScript sources run without a build step, then hands over to cli.ts.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
process.exitCode = await main(process.argv.slice(2));
