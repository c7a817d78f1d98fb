/**
 * Recognises a load in which every request failed for one cause that a
 * retry cannot fix, such as a missing API token, so the run reports that
 * cause as an environment error (exit 2) instead of judging a run that
 * measured nothing.
 */
import { isRetriableStatus } from '../load/retry.js';
import type { LoadResult } from '../load/types.js';
import type { TargetName } from '../targets/types.js';

function tokenHint(target: TargetName): string {
  const local =
    target === 'local'
      ? '; the local target starts its API with the SOMA_API_TOKEN of the `up` that started it, and a later `up` with another value restarts the service'
      : '';
  return `set SOMA_API_TOKEN to the API's token in the environment of soma-harness, e.g. SOMA_API_TOKEN=<token> soma-harness run ...${local}`;
}

/** Names the response behind the failures: `HTTP 401 SOMA_ERR_AUTH_MISSING_TOKEN: ...` when an item recorded it. */
function describeResponse(load: LoadResult, status: number): string {
  const failed = load.failed.find((item) => item.reason.startsWith(`HTTP ${status}`));
  if (failed) return failed.reason;
  const rejected = load.rejected.find((item) => item.status === status);
  return rejected ? `HTTP ${status} ${rejected.code}: ${rejected.message}` : `HTTP ${status}`;
}

/**
 * Returns the cause when no request succeeded and every one was answered
 * with the same 4xx status that the load engines do not retry; undefined for
 * any other load.
 */
export function findLoadFailure(load: LoadResult, target: TargetName): string | undefined {
  const { requests } = load;
  if (requests.total === 0 || requests.succeeded > 0 || requests.networkErrors > 0 || load.acknowledged.length > 0) return undefined;
  const statuses = Object.entries(requests.byStatus);
  if (statuses.length !== 1) return undefined;
  const [statusText, count] = statuses[0] as [string, number];
  const status = Number(statusText);
  if (status < 400 || status > 499 || isRetriableStatus(status) || count !== requests.total) return undefined;

  const every = `every request (${count} of ${requests.total}) was answered with ${describeResponse(load, status)}`;
  if (status === 401) return `${every}: the API requires a bearer token and the harness sent none; ${tokenHint(target)}`;
  if (status === 403) return `${every}: the API rejected the token in SOMA_API_TOKEN; ${tokenHint(target)}`;
  return `${every}, a client error that a retry does not fix, so nothing was acknowledged; change the scenario or the API setting that the error names`;
}
