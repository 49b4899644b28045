// `hello`: the daemon answers with its name (the CLI's liveness check).
import type { ControlCommand } from './command.js';

export const helloCommands: readonly ControlCommand[] = [{ name: 'hello', run: () => 'ikelab' }];
