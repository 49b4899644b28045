// Run one daemon with its control socket until a signal arrives.
import { statSync } from 'node:fs';
import { exposedSecretsWarning } from './config/load.js';
import type { IkelabConfig } from './config/types.js';
import { ControlServer } from './control/server.js';
import { Daemon } from './daemon.js';
import { createLogger } from './log/setup.js';
import type { Logger } from './log/logger.js';

export interface Running {
  daemon: Daemon;
  control: ControlServer;
  log: Logger;
  stop(): Promise<void>;
}

export async function runDaemon(cfg: IkelabConfig, log = createLogger(cfg.daemon.log)): Promise<Running> {
  warnIfSecretsExposed(cfg, log);
  const daemon = new Daemon(cfg, { log });
  const control = new ControlServer(daemon, cfg.daemon.controlSocket, { log });
  await control.start();
  try {
    await daemon.start();
  } catch (e) {
    await control.close();
    throw e;
  }
  let stopped = false;
  return {
    daemon,
    control,
    log,
    async stop() {
      if (stopped) return;
      stopped = true;
      await daemon.stop();
      await control.close();
      await log.close();
    },
  };
}

/** Like ssh with a private key: a config file holding PSKs should be readable by its owner only. */
export function warnIfSecretsExposed(cfg: IkelabConfig, log: Logger): void {
  let mode: number;
  try {
    mode = statSync(cfg.file).mode;
  } catch {
    return; // not from a file (tests build configs from text)
  }
  const warning = exposedSecretsWarning(cfg, mode);
  if (warning) log.log('CFG', 1, warning);
}
