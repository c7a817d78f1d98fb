import type { Command } from './types.js';
import { upCommand } from './up.js';
import { downCommand } from './down.js';
import { statusCommand } from './status.js';
import { portForwardCommand } from './port-forward.js';
import { runCommand } from './run.js';
import { e2eCommand } from './e2e.js';
import { verifyCommand } from './verify.js';
import { reportCommand } from './report.js';
import { compareCommand } from './compare.js';

/** Every sub-command, in the order `soma-harness --help` lists them. */
export const COMMANDS: Command[] = [
  upCommand,
  downCommand,
  statusCommand,
  runCommand,
  e2eCommand,
  verifyCommand,
  reportCommand,
  compareCommand,
  portForwardCommand,
];
