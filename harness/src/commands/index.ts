import type { Command } from './types.js';
import { upCommand } from './up.js';
import { downCommand } from './down.js';
import { statusCommand } from './status.js';
import { portForwardCommand } from './port-forward.js';

/** Every sub-command, in the order `soma-harness --help` lists them. */
export const COMMANDS: Command[] = [upCommand, downCommand, statusCommand, portForwardCommand];
