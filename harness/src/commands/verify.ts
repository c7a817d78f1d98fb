import { resolve } from 'node:path';
import { EXIT_USAGE, type ExitCode } from '../exit-codes.js';
import { createLiveStatus } from '../load/live-progress.js';
import { parseDuration } from '../scenario/duration.js';
import { EXTERNAL_TARGET_HELP } from '../targets/external/index.js';
import { findRunById, recheckRun } from '../verify/recheck.js';
import { exitCodeOf } from '../verify/verdict.js';
import { openTargetSession, SESSION_HELP, SESSION_OPTIONS } from './target-session.js';
import type { Command, CommandContext, ParsedArgs } from './types.js';

const USAGE = `
Usage: soma-harness verify --run-id ID [options]

Re-checks a past run against the stores as they are now: finds the run's
summary.json and acknowledged-items file under the reports folder, polls
Postgres, Qdrant and Kafka lag until they converge or the timeout passes, and
reconciles item by item (lost, partial, duplicated, phantom, payload mismatch).

Options:
  --run-id ID            run id of the scenario to re-check (see summary.json)
  --reports-dir DIR      where run directories are (default: reports/)
  --timeout DURATION     how long to poll, e.g. 30s (default: the scenario's)
  --json                 print the verification as JSON on stdout
  --quiet                no progress output
${SESSION_HELP}${EXTERNAL_TARGET_HELP}
Exit codes: 0 every invariant holds, 2 usage or environment error, 3 an
invariant failed, 130 interrupted.
`;

async function run(args: ParsedArgs, context: CommandContext): Promise<ExitCode> {
  const runId = args.values['run-id'] as string | undefined;
  if (!runId) {
    context.stderr.write(`error: --run-id is required\n\n${USAGE.trim()}\n`);
    return EXIT_USAGE;
  }
  const timeoutText = args.values.timeout as string | undefined;
  const timeoutMs = timeoutText === undefined ? undefined : parseDuration(timeoutText);
  if (timeoutText !== undefined && timeoutMs === undefined) {
    context.stderr.write(`error: --timeout "${timeoutText}" is not a duration of 0 or more; use e.g. 500ms, 30s or 2m\n`);
    return EXIT_USAGE;
  }
  const reportsDir = resolve((args.values['reports-dir'] as string | undefined) ?? resolve(context.rootDir, 'reports'));
  const found = findRunById(reportsDir, runId);
  const quiet = args.values.json === true || args.values.quiet === true;

  const session = await openTargetSession(args, context);
  try {
    const status = createLiveStatus(`verify ${runId}`, { stream: context.stderr, enabled: !quiet, env: context.env });
    const result = await recheckRun(found, session.endpoints, { timeoutMs, onPoll: (text) => status.update(text), signal: context.signal });
    if (result.verification.status === 'aborted') status.interrupted(`after ${result.verification.polls} polls`);
    else status.done(result.verification.status);
    if (args.values.json === true) {
      context.stdout.write(`${JSON.stringify({ runId, runDir: found.runDir, verdict: result.judgement.verdict, verification: result.verification }, null, 2)}\n`);
    } else {
      const lines = result.verification.checks.map(
        (check) => `${check.status.toUpperCase().padEnd(8)} ${check.name}: ${check.message}\n         expected ${check.evidence.expected}, found ${check.evidence.found}; ${check.evidence.where}`,
      );
      for (const warning of result.verification.warnings ?? []) lines.push(`warning: ${warning}`);
      context.stdout.write(`${lines.join('\n')}\n\nrun ${runId} (${found.runDir}): ${result.acknowledged} acknowledged items, verdict ${result.judgement.verdict}\n`);
    }
    return exitCodeOf(result.judgement.verdict);
  } finally {
    await session.release();
  }
}

export const verifyCommand: Command = {
  name: 'verify',
  summary: "re-check a past run's items in the stores (--run-id)",
  usage: USAGE,
  options: {
    ...SESSION_OPTIONS,
    'run-id': { type: 'string' },
    'reports-dir': { type: 'string' },
    timeout: { type: 'string' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
  },
  run,
};
