// The verbs that run here rather than ask a daemon: `start` (the daemon itself, in the foreground) and `demo` (two
// peers in this process). Both are loaded on use: a control verb must not pay for loading the daemon.
import { str, UsageError, type Verb } from './verb.js';

export const startVerb: Verb = {
  name: 'start',
  synopsis: '--config FILE',
  summary: 'run the daemon in the foreground (charon-style log on stdout)',
  noJson: 'runs the daemon: its output is the log (daemon.log.json writes it as JSON lines)',
  flags: [{ name: 'config', type: 'string', arg: 'FILE', help: 'the configuration (YAML, swanctl-like keys)' }],
  run: async (v) => {
    const file = str(v, 'config');
    if (!file) throw new UsageError('start needs --config FILE');
    // load checks, banner, signals, exit codes: run-daemon.ts
    const { startCommand } = await import('../run-daemon.js');
    return startCommand(file);
  },
};

export const demoVerb: Verb = {
  name: 'demo',
  synopsis: '',
  summary: 'two ikelab peers on 127.0.0.1 / 127.0.0.2 bring a tunnel up and down',
  noJson: 'a narrated walk-through for a first look, no data',
  flags: [],
  run: async () => (await import('../demo.js')).runDemo(),
};
