import { EXIT_PASSED, type ExitCode } from '../exit-codes.js';
import type { TargetEndpoints } from '../targets/types.js';
import { formatStatusTable } from './status.js';
import { TARGET_OPTIONS, targetFromArgs } from './target-options.js';
import type { Command, CommandContext, ParsedArgs } from './types.js';

const USAGE = `
Usage: soma-harness up [--target local|kind|external] [options]

Starts the target and prints its endpoints. Running it again reuses what runs;
on the local target it restarts the service processes (not the backends) when
the SOMA_* settings they would get differ from those they run with, such as a
new, changed or removed SOMA_API_TOKEN. \`run\` and \`e2e\` reuse them as found.

Local target (the default): Postgres, Apache Kafka (KRaft) and Qdrant as local
processes on free 127.0.0.1 ports, then the service processes api, kv-writer
and vector-indexer. Each component has a log file in the state dir.
Qdrant is QDRANT_URL if set, else a \`qdrant\` binary (QDRANT_BIN or PATH),
else the Qdrant Edge engine behind the harness's REST stand-in.
Kafka jars come from KAFKA_HOME, else from Maven into the cache
(SOMA_CACHE_DIR, default ~/.cache/soma), as does the stand-in's virtualenv.

Options:
  --target NAME       local (default), kind or external
  --state-dir DIR     where PIDs, ports, logs and data live (local: .soma/local)
  --backends-only     local: start postgres, kafka and qdrant, not the service
  --report-dir DIR    kind: where to write diagnostics when up fails
  --json              print the endpoints as JSON on stdout
  --quiet             no progress output
`;

function formatEndpoints(endpoints: TargetEndpoints): string {
  return [
    `api:        ${endpoints.apiUrl || '(not started)'}`,
    `postgres:   ${endpoints.postgresUrl}`,
    `kafka:      ${endpoints.kafkaBrokers.join(',')}`,
    `qdrant:     ${endpoints.qdrantUrl}`,
    `topic:      ${endpoints.topic}`,
    `groups:     ${endpoints.consumerGroups.join(', ')}`,
  ].join('\n');
}

async function run(args: ParsedArgs, context: CommandContext): Promise<ExitCode> {
  const target = await targetFromArgs(args, context);
  const endpoints = await target.up({ applySettings: true });
  if (args.values.json) {
    context.stdout.write(`${JSON.stringify(endpoints, null, 2)}\n`);
    return EXIT_PASSED;
  }
  context.stdout.write(`${formatStatusTable(await target.status())}\n\n${formatEndpoints(endpoints)}\n`);
  return EXIT_PASSED;
}

export const upCommand: Command = {
  name: 'up',
  summary: 'start the target (local processes, kind cluster or external endpoints)',
  usage: USAGE,
  options: {
    ...TARGET_OPTIONS,
    'backends-only': { type: 'boolean' },
    'report-dir': { type: 'string' },
  },
  run,
};
