// Control socket protocol: one JSON object per line each way. Request { id, cmd, args }, reply { id, ok, result | error }.
export interface ControlRequest {
  id: number;
  cmd: 'initiate' | 'terminate' | 'rekey' | 'fault' | 'ping' | 'ipsec-sa' | 'list-sas' | 'load' | 'stats' | 'hello';
  args: Record<string, string | boolean | undefined>;
}

export type ControlReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };
