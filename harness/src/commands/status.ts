import { formatLogTail, readLogTail } from '../process/log-tail.js';
import { EXIT_PASSED, EXIT_USAGE, type ExitCode } from '../exit-codes.js';
import type { ComponentStatus } from '../targets/types.js';
import { TARGET_OPTIONS, targetFromArgs } from './target-options.js';
import type { Command, CommandContext, ParsedArgs } from './types.js';

const USAGE = `
Usage: soma-harness status [--target local|kind|external] [options]

Lists each component with its state (running, stopped, dead), port, PID,
address, log file and what runs (a stand-in is named so). Exits with 2 when a component that should run has died,
and prints the end of its log. On the local target the api row says whether
the API requires a bearer token: \`authRequired\` and \`authTokenVariable\`
(SOMA_API_TOKEN, the variable the harness reads the token from) in --json.

Options:
  --target NAME       local (default), kind or external
  --state-dir DIR     state dir of the target (local: .soma/local)
  --json              print ComponentStatus[] as JSON on stdout
`;

const COLUMNS: Array<[string, (row: ComponentStatus) => string]> = [
  ['COMPONENT', (row) => row.name],
  ['STATE', (row) => row.state],
  ['PORT', (row) => (row.port ? String(row.port) : '-')],
  ['PID', (row) => (row.pid ? String(row.pid) : '-')],
  ['ADDRESS', (row) => row.address || '-'],
  ['LOG', (row) => row.logPath ?? '-'],
  ['DETAIL', (row) => describeDetail(row)],
];

function describeDetail(row: ComponentStatus): string {
  const auth = row.authRequired ? `requires a bearer token (${row.authTokenVariable ?? 'SOMA_API_TOKEN'})` : undefined;
  const parts = [row.detail, auth].filter((part) => part !== undefined);
  return parts.length > 0 ? parts.join('; ') : '-';
}

/** Formats components as an aligned plain-text table. */
export function formatStatusTable(rows: ComponentStatus[]): string {
  if (rows.length === 0) return 'no components recorded (run `soma-harness up` first)';
  const cells = [COLUMNS.map(([title]) => title), ...rows.map((row) => COLUMNS.map(([, cell]) => cell(row)))];
  const widths = COLUMNS.map((_, column) => Math.max(...cells.map((line) => (line[column] ?? '').length)));
  return cells.map((line) => line.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()).join('\n');
}

async function run(args: ParsedArgs, context: CommandContext): Promise<ExitCode> {
  const target = await targetFromArgs(args, context);
  const rows = await target.status();
  context.stdout.write(args.values.json ? `${JSON.stringify(rows, null, 2)}\n` : `${formatStatusTable(rows)}\n`);

  const dead = rows.filter((row) => row.state === 'dead');
  for (const row of dead) {
    const tail = row.logPath ? formatLogTail(row.logPath, await readLogTail(row.logPath, 10)) : '';
    context.stderr.write(`error: ${row.name} died (pid ${row.pid ?? '?'} is not running); run \`soma-harness up\` to restart it\n${tail}\n`);
  }
  return dead.length > 0 ? EXIT_USAGE : EXIT_PASSED;
}

export const statusCommand: Command = {
  name: 'status',
  summary: 'list components with state, port, PID, address and log',
  usage: USAGE,
  options: { ...TARGET_OPTIONS },
  run,
};
