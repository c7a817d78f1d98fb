/**
 * CPU time of processes and their descendants, read from /proc (Linux), so
 * the benchmark can say which process used the cores during a step.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times; 100 on Linux for x86-64 and arm64. */
const CLOCK_TICKS_PER_SECOND = 100;

interface ProcStat {
  pid: number;
  parent: number;
  /**
   * User plus system CPU time in milliseconds, including that of children the
   * process has waited for (cutime, cstime). So a short-lived child, such as
   * a Postgres backend of a closed connection, still counts after it exited.
   */
  cpuMs: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces, so fields are counted after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const parent = Number(fields[1]);
    const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    return { pid, parent, cpuMs: (ticks * 1000) / CLOCK_TICKS_PER_SECOND };
  } catch {
    return undefined;
  }
}

function allStats(): ProcStat[] {
  const stats: ProcStat[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat) stats.push(stat);
  }
  return stats;
}

/**
 * CPU milliseconds used so far by each named process tree: the process and its
 * descendants, except descendants that are roots of their own (the service
 * processes are children of the benchmark, but count under their own names).
 */
export function sampleProcessTrees(roots: Record<string, number>): Record<string, number> {
  const stats = allStats();
  const children = new Map<number, ProcStat[]>();
  for (const stat of stats) {
    const list = children.get(stat.parent) ?? [];
    list.push(stat);
    children.set(stat.parent, list);
  }
  const byPid = new Map(stats.map((stat) => [stat.pid, stat]));
  const rootPids = new Set(Object.values(roots));
  const treeCpu = (pid: number): number => {
    const own = byPid.get(pid)?.cpuMs ?? 0;
    const descendants = (children.get(pid) ?? []).filter((child) => !rootPids.has(child.pid));
    return own + descendants.reduce((total, child) => total + treeCpu(child.pid), 0);
  };
  return Object.fromEntries(Object.entries(roots).map(([name, pid]) => [name, treeCpu(pid)]));
}

/** Cores used by each process tree between two samples taken `wallMs` apart. */
export function coresBetween(before: Record<string, number>, after: Record<string, number>, wallMs: number): Record<string, number> {
  return Object.fromEntries(
    Object.keys(after).map((name) => [name, wallMs > 0 ? Math.round((((after[name] ?? 0) - (before[name] ?? 0)) / wallMs) * 1000) / 1000 : 0]),
  );
}
