// `config`: the names in the daemon's loaded configuration (connections and their children, in file order), read
// only and without secrets or proposals. The scenario runner resolves its `auto` parameters from it (the first
// connection, its first child), as a user would read them off `list-sas`.
import type { ControlCommand } from './command.js';

export interface ConfigSummary {
  file: string;
  connections: { name: string; children: string[] }[];
}

export const configCommands: readonly ControlCommand[] = [
  {
    name: 'config',
    run: ({ daemon }): ConfigSummary => {
      const cfg = daemon.config;
      return { file: cfg.file, connections: cfg.connections.map((c) => ({ name: c.name, children: c.children.map((ch) => ch.name) })) };
    },
  },
];
