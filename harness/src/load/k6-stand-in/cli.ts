/**
 * A k6 stand-in: a small program that implements the part of the k6 CLI the
 * harness's k6 engine calls, so that the engine can be tested where the k6
 * binary is not installed. It is not k6. It runs a TypeScript k6 script in
 * Node (through tsx) with shims of the k6 modules the harness's scripts use,
 * and writes k6's JSON output and a summary export in the format of k6 v1.
 *
 *   k6 version
 *   k6 run [--quiet] [--no-color] [--no-usage-report] [--include-system-env-vars] [-e KEY=VALUE]...
 *          [--summary-export FILE] [--out json=FILE] [--summary-trend-stats LIST] SCRIPT
 *
 * Exit codes as k6's: 0 passed, 99 a threshold failed, 107 the script threw
 * during init, 108 the script called exec.test.abort(), 255 a usage error.
 * Executors: shared-iterations and constant-arrival-rate only.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { register } from 'node:module';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runScenario, type ScenarioOptions } from './executors.js';
import { runtime } from './runtime.js';
import { buildSummaryExport, DEFAULT_TREND_STATS, evaluateThresholds } from './summary.js';

export const STAND_IN_VERSION = 'k6 v1.0.0 (soma k6 stand-in, not k6)';

const EXIT_OK = 0;
const EXIT_THRESHOLDS_FAILED = 99;
const EXIT_SCRIPT_EXCEPTION = 107;
const EXIT_SCRIPT_ABORTED = 108;
const EXIT_USAGE = 255;

interface RunArguments {
  script: string;
  env: Record<string, string>;
  includeSystemEnv: boolean;
  summaryExport?: string;
  jsonOutput?: string;
  trendStats?: string[];
  quiet: boolean;
}

class UsageError extends Error {}

function takeValue(args: string[], index: number, flag: string): string {
  const value = args[index + 1];
  if (value === undefined) throw new UsageError(`flag needs an argument: ${flag}`);
  return value;
}

function parseRunArguments(args: string[]): RunArguments {
  const parsed: RunArguments = { script: '', env: {}, includeSystemEnv: false, quiet: false };
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index] as string;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      index += 1;
      return takeValue(args, index - 1, flag);
    };
    switch (flag) {
      case '-q':
      case '--quiet':
        parsed.quiet = true;
        break;
      case '--no-color':
      case '--no-usage-report':
        break;
      case '--include-system-env-vars':
        parsed.includeSystemEnv = true;
        break;
      case '-e':
      case '--env': {
        const pair = value();
        const at = pair.indexOf('=');
        if (at <= 0) throw new UsageError(`invalid environment variable ${JSON.stringify(pair)}, expected KEY=VALUE`);
        parsed.env[pair.slice(0, at)] = pair.slice(at + 1);
        break;
      }
      case '--summary-export':
        parsed.summaryExport = value();
        break;
      case '-o':
      case '--out': {
        const output = value();
        if (!output.startsWith('json=')) throw new UsageError(`the k6 stand-in writes only the json output, not ${output}`);
        parsed.jsonOutput = output.slice('json='.length);
        break;
      }
      case '--summary-trend-stats':
        parsed.trendStats = value().split(',');
        break;
      default:
        if (flag.startsWith('-')) throw new UsageError(`unknown flag: ${flag}`);
        if (parsed.script) throw new UsageError(`accepts 1 script argument, received ${parsed.script} and ${arg}`);
        parsed.script = arg;
    }
  }
  if (!parsed.script) throw new UsageError('accepts 1 arg(s), received 0: give the script to run');
  return parsed;
}

/** Normalises a thresholds option: each entry is a string or {threshold}. */
function readThresholds(raw: unknown): Record<string, string[]> {
  const thresholds: Record<string, string[]> = {};
  if (raw === null || typeof raw !== 'object') return thresholds;
  for (const [metric, entries] of Object.entries(raw as Record<string, unknown>)) {
    const list = Array.isArray(entries) ? entries : [entries];
    thresholds[metric] = list.map((entry) => (typeof entry === 'string' ? entry : String((entry as { threshold?: unknown }).threshold)));
  }
  return thresholds;
}

function installGlobals(scriptDir: string): void {
  const globals = globalThis as Record<string, unknown>;
  globals.__ENV = runtime.env;
  globals.__VU = 0;
  globals.__ITER = 0;
  globals.open = (path: string, mode?: string) => {
    const file = resolve(scriptDir, path);
    if (mode === 'b') {
      const bytes = readFileSync(file);
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    }
    return readFileSync(file, 'utf8');
  };
}

async function run(args: RunArguments): Promise<number> {
  const script = resolve(args.script);
  if (args.includeSystemEnv) Object.assign(runtime.env, process.env);
  Object.assign(runtime.env, args.env);
  installGlobals(dirname(script));
  register(new URL('./module-hooks.mjs', import.meta.url));
  if (args.jsonOutput) runtime.openJsonOutput(resolve(args.jsonOutput));

  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(script).href)) as Record<string, unknown>;
  } catch (error) {
    process.stderr.write(`level=error msg="${error instanceof Error ? error.stack ?? error.message : String(error)}" hint="script exception"\n`);
    runtime.closeJsonOutput();
    return EXIT_SCRIPT_EXCEPTION;
  }
  const options = (module.options ?? {}) as { scenarios?: Record<string, ScenarioOptions>; thresholds?: unknown; summaryTrendStats?: string[]; vus?: number; iterations?: number };
  runtime.thresholds = readThresholds(options.thresholds);
  const iteration = module.default;
  if (typeof iteration !== 'function') throw new UsageError('the script has no default function to run');
  const scenarios = options.scenarios ?? { default: { executor: 'shared-iterations', vus: options.vus ?? 1, iterations: options.iterations ?? 1 } };

  runtime.startedAtMs = Date.now();
  const aborts = await Promise.all(Object.entries(scenarios).map(([name, scenario]) => runScenario(name, scenario, iteration as () => unknown)));
  const durationMs = Date.now() - runtime.startedAtMs;

  const outcomes = evaluateThresholds(durationMs / 1000);
  const trendStats = args.trendStats ?? options.summaryTrendStats ?? DEFAULT_TREND_STATS;
  if (args.summaryExport) writeFileSync(resolve(args.summaryExport), `${JSON.stringify(buildSummaryExport(outcomes, trendStats, durationMs), null, 2)}\n`);
  runtime.closeJsonOutput();
  for (const outcome of outcomes) {
    process.stdout.write(`${outcome.ok ? '✓' : '✗'} ${outcome.metric} ${outcome.expression} (${outcome.value ?? 'no value'})\n`);
  }
  process.stdout.write(`soma k6 stand-in: ${Object.keys(scenarios).join(', ')} finished in ${(durationMs / 1000).toFixed(1)}s\n`);

  const aborted = aborts.find((abort) => abort !== undefined);
  if (aborted) {
    process.stderr.write(`level=error msg="test aborted: ${aborted.message}"\n`);
    return EXIT_SCRIPT_ABORTED;
  }
  return outcomes.every((outcome) => outcome.ok) ? EXIT_OK : EXIT_THRESHOLDS_FAILED;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'version') {
      process.stdout.write(`${STAND_IN_VERSION}\n`);
      return EXIT_OK;
    }
    if (command === 'run') return await run(parseRunArguments(rest));
    throw new UsageError(`unknown command ${JSON.stringify(command ?? '')} for the k6 stand-in, which has run and version`);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`Error: ${error.message}\n`);
    return EXIT_USAGE;
  }
}

process.exitCode = await main(process.argv.slice(2));
