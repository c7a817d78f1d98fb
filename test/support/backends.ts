/**
 * Backend endpoints for tests: real Postgres, Kafka and Qdrant started by the
 * local target. The test runner (test/run.ts) starts them once and passes them
 * in SOMA_TEST_BACKENDS; a test file run on its own starts them itself.
 */
export interface BackendEndpoints {
  postgresUrl: string;
  kafkaBrokers: string[];
  qdrantUrl: string;
}

export async function getBackends(): Promise<BackendEndpoints> {
  throw new Error('not implemented yet: the local target provides this');
}
