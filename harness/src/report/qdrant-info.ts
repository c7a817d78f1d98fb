/**
 * What a Qdrant endpoint reports about itself on GET /: title and version, and
 * `stand_in` when it is the harness's Qdrant Edge stand-in
 * (harness/src/targets/local/qdrant-edge/server.py), which reports the Qdrant
 * version whose REST API it speaks.
 */
export interface QdrantInfo {
  title: string;
  version?: string;
  /** Set by a stand-in, e.g. "soma qdrant-edge stand-in (qdrant-edge-py 0.9.0)". */
  standIn?: string;
}

/** Reads GET / of `url`; undefined when it does not respond with JSON. */
export async function fetchQdrantInfo(url: string, apiKey?: string, timeoutMs = 3000): Promise<QdrantInfo | undefined> {
  try {
    const response = await fetch(`${url.replace(/\/+$/, '')}/`, {
      headers: apiKey ? { 'api-key': apiKey } : {},
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = (await response.json()) as { title?: unknown; version?: unknown; stand_in?: unknown };
    return {
      title: typeof body.title === 'string' ? body.title : 'qdrant',
      version: typeof body.version === 'string' ? body.version : undefined,
      standIn: typeof body.stand_in === 'string' && body.stand_in.length > 0 ? body.stand_in : undefined,
    };
  } catch {
    return undefined;
  }
}

/** Describes the endpoint for reports: `<title> <version>`, or the stand-in and the API version it speaks. */
export function describeQdrant(info: QdrantInfo): string | undefined {
  const server = info.version ? `${info.title} ${info.version}` : undefined;
  if (info.standIn) return `${info.standIn}, a stand-in that speaks the REST API of ${server ?? info.title}`;
  return server;
}
