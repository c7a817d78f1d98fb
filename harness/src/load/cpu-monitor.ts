/**
 * Samples the harness process's own CPU use (process.cpuUsage over wall time)
 * and event-loop delay, so a run can be marked invalid when the load
 * generator, not the service, was the bottleneck.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface CpuSample {
  /** Milliseconds since the monitor started. */
  tMs: number;
  /** CPU time (user + system) over wall time in the interval, in cores (1 = one core busy). */
  cores: number;
  /** 99th percentile event-loop delay in the interval, milliseconds. */
  eventLoopDelayP99Ms: number;
}

export interface CpuSummary {
  wallMs: number;
  cpuMs: number;
  /** cpuMs / wallMs over the whole window, in cores. */
  meanCores: number;
  maxCores: number;
  maxEventLoopDelayP99Ms: number;
  samples: CpuSample[];
}

export interface CpuMonitor {
  stop(): CpuSummary;
}

/** Starts sampling every `intervalMs` (default 500 ms) until `stop()`. */
export function startCpuMonitor(intervalMs = 500): CpuMonitor {
  const startedAt = performance.now();
  const startUsage = process.cpuUsage();
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const samples: CpuSample[] = [];
  let lastAt = startedAt;
  let lastUsage = startUsage;

  const sample = () => {
    const at = performance.now();
    const usage = process.cpuUsage();
    const cpuMs = (usage.user - lastUsage.user + usage.system - lastUsage.system) / 1000;
    const wallMs = at - lastAt;
    if (wallMs <= 0) return;
    samples.push({
      tMs: Math.round(at - startedAt),
      cores: Math.round((cpuMs / wallMs) * 1000) / 1000,
      eventLoopDelayP99Ms: Math.round(loopDelay.percentile(99) / 1e4) / 100,
    });
    loopDelay.reset();
    lastAt = at;
    lastUsage = usage;
  };
  const timer = setInterval(sample, intervalMs);
  timer.unref();

  return {
    stop() {
      clearInterval(timer);
      sample();
      loopDelay.disable();
      const wallMs = performance.now() - startedAt;
      const total = process.cpuUsage(startUsage);
      const cpuMs = (total.user + total.system) / 1000;
      return {
        wallMs: Math.round(wallMs),
        cpuMs: Math.round(cpuMs),
        meanCores: wallMs > 0 ? Math.round((cpuMs / wallMs) * 1000) / 1000 : 0,
        maxCores: samples.reduce((max, entry) => Math.max(max, entry.cores), 0),
        maxEventLoopDelayP99Ms: samples.reduce((max, entry) => Math.max(max, entry.eventLoopDelayP99Ms), 0),
        samples,
      };
    },
  };
}
