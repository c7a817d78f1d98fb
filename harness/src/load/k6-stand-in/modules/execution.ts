/**
 * Shim of k6/execution for the k6 stand-in: scenario and vu read the running
 * iteration's context; test.abort ends the run with k6's exit code 108.
 */
import { currentIteration } from '../runtime.js';

export class TestAbortedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TestAbortedError';
  }
}

export const scenario = {
  get name() {
    return currentIteration().scenario;
  },
  get executor() {
    return currentIteration().executor;
  },
  get startTime() {
    return currentIteration().scenarioStartMs;
  },
  get iterationInInstance() {
    return currentIteration().iterationInTest;
  },
  get iterationInTest() {
    return currentIteration().iterationInTest;
  },
};

export const vu = {
  get idInInstance() {
    return currentIteration().vuId;
  },
  get idInTest() {
    return currentIteration().vuId;
  },
  get iterationInInstance() {
    return currentIteration().iterationInVu;
  },
  get iterationInScenario() {
    return currentIteration().iterationInVu;
  },
};

export const test = {
  abort(message?: string): never {
    throw new TestAbortedError(message ?? 'test aborted');
  },
};

export default { scenario, vu, test };
