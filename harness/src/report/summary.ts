/**
 * summary.json: everything a run measured and judged, one file per run, valid
 * against schemas/report.schema.json. The HTML report, the JUnit file,
 * `verify --run-id` and `compare` all read it.
 */
import type { TargetName } from '../targets/types.js';
import type { ActionRecord } from '../load/actions.js';
import type { CpuSample } from '../load/cpu-monitor.js';
import type { LatencySummary } from '../load/latency.js';
import type { ThroughputBucket } from '../load/throughput.js';
import type { ChunkOutcome, FailedItem, LoadResult, RejectedItem, RequestCounts } from '../load/types.js';
import type { ActionSpec, LoadSpec, Thresholds, ValiditySpec, VerifySpec } from '../scenario/types.js';
import type { ConsumerMetricsSeries, ServerMetricsSeries } from '../verify/metrics-scraper.js';
import type { Figures, ThresholdResult } from '../verify/thresholds.js';
import type { VerificationResult } from '../verify/types.js';
import type { Verdict } from '../verify/verdict.js';

export const SUMMARY_FORMAT_VERSION = 1;
/** At most this many rejected and failed items are listed one by one. */
export const ITEM_SAMPLE_LIMIT = 20;

export interface EnvironmentInfo {
  target: TargetName;
  apiUrl: string;
  /** Postgres URL without its password. */
  postgres: string;
  qdrantUrl: string;
  kafkaBrokers: string[];
  topic: string;
  consumerGroups: string[];
  defaultNamespace: string;
  harnessVersion: string;
  nodeVersion: string;
  platform: string;
  cpus: number;
  gitSha: string | null;
  gitDirty: boolean | null;
  /** Versions the backends report, e.g. {postgres: "PostgreSQL 15.8 ...", qdrant: "1.12.0"}. */
  backendVersions: Record<string, string>;
  /** Backends that are stand-ins for the real component, by name, e.g. {qdrant: "soma qdrant-edge stand-in (qdrant-edge-py 0.9.0)"}; absent in older summaries. */
  standIns?: Record<string, string>;
  command: string;
}

export interface LoadSummary {
  engine: string;
  mode: LoadResult['mode'];
  /** Milliseconds from the scenario start to the first request. */
  startOffsetMs: number;
  durationMs: number;
  items: { planned: number; sent: number; acknowledged: number; rejected: number; failed: number; notSent: number };
  requests: RequestCounts;
  latency: LatencySummary;
  throughput: ThroughputBucket[];
  chunks: ChunkOutcome[];
  rejectedSample: RejectedItem[];
  failedSample: FailedItem[];
  notes: string[];
}

export interface HarnessUsage {
  /** Reason saturation was not judged on this load's CPU (too short a window or too few samples); absent when it was. */
  cpuNotJudged?: string;
  meanCores: number;
  maxCores: number;
  maxEventLoopDelayP99Ms: number;
  wallMs: number;
  cpuMs: number;
  /** Samples with tMs since the scenario started. */
  samples: CpuSample[];
}

export interface ScenarioSummary {
  name: string;
  description?: string;
  file: string;
  runId: string;
  namespace: string;
  startedAt: string;
  durationMs: number;
  verdict: Verdict;
  exitCode: number;
  reasons: string[];
  invalidReasons: string[];
  settings: {
    load: LoadSpec;
    verify: VerifySpec;
    thresholds: Thresholds;
    validity: ValiditySpec;
    actions: ActionSpec[];
  };
  load: LoadSummary;
  actions: (ActionRecord & { results: string[] })[];
  verification: VerificationResult;
  thresholds: ThresholdResult[];
  figures: Figures;
  harness: HarnessUsage;
  /** The API's /metrics over the run. */
  server: ServerMetricsSeries;
  /** Each consumer process's /metrics over the run (absent in summaries written before consumers were scraped). */
  consumers?: ConsumerMetricsSeries[];
  /** Acknowledged items, one JSON object per line, relative to the run directory. */
  acknowledgedFile: string;
}

export interface RunSummary {
  formatVersion: typeof SUMMARY_FORMAT_VERSION;
  tool: 'soma-harness';
  suite: string;
  description?: string;
  files: string[];
  startedAt: string;
  endedAt: string;
  durationMs: number;
  verdict: Verdict;
  exitCode: number;
  reasons: string[];
  environment: EnvironmentInfo;
  scenarios: ScenarioSummary[];
  /** Log files collected from the target, relative to the run directory. */
  logs: string[];
}

/** Builds the load part of a scenario summary; times relative to `scenarioStartMs`. */
export function summarizeLoad(load: LoadResult, latency: LatencySummary, scenarioStartMs: number): LoadSummary {
  const offset = Math.max(0, Math.round(load.startedAtMs - scenarioStartMs));
  return {
    engine: load.engine,
    mode: load.mode,
    startOffsetMs: offset,
    durationMs: Math.round(load.endedAtMs - load.startedAtMs),
    items: {
      planned: load.totalItems,
      sent: load.acknowledged.length + load.rejected.length + load.failed.length,
      acknowledged: load.acknowledged.length,
      rejected: load.rejected.length,
      failed: load.failed.length,
      notSent: load.notSent,
    },
    requests: load.requests,
    latency,
    throughput: load.throughput.map((bucket) => ({ ...bucket, tMs: bucket.tMs + offset })),
    chunks: load.chunks,
    rejectedSample: load.rejected.slice(0, ITEM_SAMPLE_LIMIT),
    failedSample: load.failed.slice(0, ITEM_SAMPLE_LIMIT),
    notes: load.notes,
  };
}
