/**
 * The benchmark's HTML page: one self-contained file (no scripts, no external
 * assets) with the targets, the median figures, every run's concurrency
 * sweep and where the CPU went, next to the JSON it was made from.
 */
import { slowestBackend, type BenchResult } from './results.js';

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function table(headers: string[], rows: (string | number)[][]): string {
  const head = headers.map((header) => `<th>${escape(header)}</th>`).join('');
  const body = rows.map((row) => `<tr>${row.map((cell) => `<td>${escape(String(cell))}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function formatCores(cores: Record<string, number>): string {
  return Object.entries(cores)
    .sort((a, b) => b[1] - a[1])
    .map(([name, value]) => `${name} ${value}`)
    .join(', ');
}

function targetsSection(result: BenchResult): string {
  return table(
    ['target', 'figure', 'limit', 'median', 'met'],
    result.targets.map((target) => [target.name, target.figure, `${target.comparator} ${target.limit}`, target.measured ?? 'not measured', target.met ? 'yes' : 'NO']),
  );
}

function sweepSection(result: BenchResult): string {
  const rows: (string | number)[][] = [];
  for (const run of result.runs) {
    for (const sweep of run.pipeline) {
      for (const step of sweep.steps) {
        rows.push([
          run.run,
          sweep.chunkSize,
          step.concurrency,
          step.acknowledgedItemsPerSecond,
          step.consistentItemsPerSecond,
          step.drainMs ?? 'never',
          step.latencyP99Ms,
          step.harnessCpuCores,
          formatCores(step.cpuByProcess),
        ]);
      }
    }
  }
  return table(['run', 'chunk', 'concurrency', 'acknowledged/s', 'consistent/s', 'drain ms', 'p99 ms', 'harness cores', 'cores by process'], rows);
}

function fixedRateSection(result: BenchResult): string {
  return table(
    ['run', 'target items/s', 'achieved items/s', 'p50 ms', 'p99 ms', 'measured p99 ms', 'consistency p50 ms', 'consistency p99 ms', 'markers', 'cores by process'],
    result.runs.map((run) => {
      const fixed = run.fixedRate;
      return [
        run.run,
        fixed.targetItemsPerSecond,
        fixed.achievedItemsPerSecond,
        fixed.latencyP50Ms,
        fixed.latencyP99Ms,
        fixed.measuredLatencyP99Ms,
        fixed.timeToConsistency.p50Ms,
        fixed.timeToConsistency.p99Ms,
        `${fixed.timeToConsistency.visible}/${fixed.timeToConsistency.markers}`,
        formatCores(fixed.cpuByProcess),
      ];
    }),
  );
}

/** Renders the page for one result. */
export function renderBenchHtml(result: BenchResult): string {
  const figures = table(['figure (median)', 'value'], Object.entries(result.figures).map(([name, value]) => [name, value]));
  const backends = table(
    ['run', 'items', 'Postgres upsert items/s', 'Kafka produce items/s', 'Qdrant upsert items/s'],
    result.runs.map((run) => [run.run, run.backends.items, run.backends.postgresUpsertItemsPerSecond, run.backends.kafkaProduceItemsPerSecond, run.backends.qdrantUpsertItemsPerSecond]),
  );
  const machine = result.machine;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Soma benchmark ${escape(result.startedAt)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
code { background: #f4f4f4; padding: 0 0.2rem; }
</style></head>
<body>
<h1>Soma benchmark (${escape(result.mode)})</h1>
<p>${escape(result.startedAt)} to ${escape(result.endedAt)}, ${result.runs.length} run(s), medians over the runs.
Machine: ${machine.cpus} cores (${escape(machine.cpuModel)}), ${machine.memoryMb} MB, Node ${escape(machine.node)};
1-minute load average ${machine.loadAverageBefore} before and ${machine.loadAverageAfter} after. Git ${escape(result.gitSha ?? 'unknown')}.
Command: <code>${escape(result.command)}</code></p>
<h2>Targets (chunk size 100)</h2>
${targetsSection(result)}
<p>Slowest backend alone: ${escape(slowestBackend(result.figures))} at ${result.figures.slowestBackendItemsPerSecond} items/s;
the pipeline's consistent rate at chunk size 100 is ${result.figures.pipelineShareOfSlowestBackend ?? 'unknown'} of it.</p>
<h2>Figures</h2>
${figures}
<h2>Concurrency sweeps</h2>
${sweepSection(result)}
<h2>/store_bulk at half the maximum rate</h2>
<p>Latency counts from each chunk's intended send time; "measured" counts from the actual send time.</p>
${fixedRateSection(result)}
<h2>Backends alone</h2>
${backends}
</body></html>
`;
}
