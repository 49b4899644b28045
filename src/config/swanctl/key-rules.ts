// What `ikelab convert` (convert.ts) does with each key of swanctl.conf and strongswan.conf's charon section: the
// keys ikelab takes, with the shape their YAML value gets and the values ikelab accepts, and the keys it leaves out,
// with the reason the report gives. Tables, not code, so that teaching the converter a key is one line here and the
// reasons stay next to each other where they can be read as ikelab's list of what it does not do.

type Shape = 'scalar' | 'list' | 'number';

export interface KeyRule {
  shape: Shape;
  /** Values ikelab accepts (after `aliases`); anything else is ignored with `why`. */
  values?: readonly string[];
  aliases?: Record<string, string>;
  why?: string;
}

// the order here is the order of the output (ikelab's own config/example.yaml order)
export const CONNECTION_KEYS: Record<string, KeyRule> = {
  local_addrs: { shape: 'list' },
  remote_addrs: { shape: 'list' },
  local_port: { shape: 'number' },
  remote_port: { shape: 'number' },
  version: { shape: 'number' },
  proposals: { shape: 'list' },
  dpd_delay: { shape: 'number' },
  dpd_timeout: { shape: 'number' },
  rekey_time: { shape: 'number' },
  reauth_time: { shape: 'number' },
  over_time: { shape: 'number' },
  rand_time: { shape: 'number' },
  encap: { shape: 'scalar' },
  mobike: { shape: 'scalar' },
  fragmentation: { shape: 'scalar', values: ['yes', 'no', 'accept', 'force'] },
  keyingtries: { shape: 'number' },
  unique: { shape: 'scalar', values: ['no', 'never', 'keep', 'replace'] },
  send_certreq: { shape: 'scalar' },
};

export const CONNECTION_IGNORED: Record<string, string> = {
  pools: 'ikelab has no address pools',
  vips: 'ikelab requests no virtual IP addresses',
  aggressive: 'IKEv1 Aggressive Mode; ikelab speaks IKEv2 only',
  pull: 'IKEv1 Mode Config; ikelab speaks IKEv2 only',
  send_cert: 'ikelab authenticates with PSKs only, it sends no certificates',
  ppk_id: 'ikelab has no postquantum preshared keys (RFC 8784)',
  ppk_required: 'ikelab has no postquantum preshared keys (RFC 8784)',
  childless: 'ikelab always creates a CHILD_SA in IKE_AUTH when the connection has one',
  dscp: 'ikelab sends IKE packets with the default DSCP',
  if_id_in: 'ikelab sets no XFRM interface IDs',
  if_id_out: 'ikelab sets no XFRM interface IDs',
  mediation: 'ikelab has no IKEv2 mediation',
  mediated_by: 'ikelab has no IKEv2 mediation',
  mediation_peer: 'ikelab has no IKEv2 mediation',
};

export const CHILD_KEYS: Record<string, KeyRule> = {
  local_ts: { shape: 'list' },
  remote_ts: { shape: 'list' },
  esp_proposals: { shape: 'list' },
  mode: { shape: 'scalar', values: ['tunnel', 'transport'], why: 'ikelab has tunnel and transport mode only' },
  rekey_time: { shape: 'number' },
  life_time: { shape: 'number' },
  rand_time: { shape: 'number' },
  start_action: { shape: 'scalar', values: ['none', 'start', 'trap'], aliases: { route: 'trap' } },
  close_action: {
    shape: 'scalar',
    values: ['none', 'start', 'trap'],
    aliases: { restart: 'start', hold: 'trap' },
    why: "ikelab's close_action is none, start or trap",
  },
  dpd_action: { shape: 'scalar', values: ['clear', 'restart', 'trap', 'none'], aliases: { hold: 'trap' } },
  replay_window: { shape: 'number' },
  ipcomp: { shape: 'scalar', values: ['no', 'false', 'off', 'disabled', '0'], why: 'ikelab does not implement IPComp' },
};

const BYTES_PACKETS = 'ikelab rekeys and expires CHILD_SAs by time only';
export const CHILD_IGNORED: Record<string, string> = {
  ah_proposals: 'ikelab has no AH, ESP only',
  rekey_bytes: BYTES_PACKETS,
  life_bytes: BYTES_PACKETS,
  rand_bytes: BYTES_PACKETS,
  rekey_packets: BYTES_PACKETS,
  life_packets: BYTES_PACKETS,
  rand_packets: BYTES_PACKETS,
  updown: 'ikelab runs no updown scripts',
  hostaccess: 'ikelab runs no updown scripts',
  policies: 'ikelab always installs policies with its SAs',
  policies_fwd_out: 'ikelab installs no forward policies',
  inactivity: 'ikelab has no inactivity timeout',
  reqid: 'ikelab chooses reqids itself',
  priority: 'ikelab chooses policy priorities itself',
  interface: 'ikelab binds policies to no interface',
  mark_in: 'ikelab sets no XFRM marks',
  mark_in_sa: 'ikelab sets no XFRM marks',
  mark_out: 'ikelab sets no XFRM marks',
  set_mark_in: 'ikelab sets no XFRM marks',
  set_mark_out: 'ikelab sets no XFRM marks',
  if_id_in: 'ikelab sets no XFRM interface IDs',
  if_id_out: 'ikelab sets no XFRM interface IDs',
  label: 'ikelab has no security labels',
  label_mode: 'ikelab has no security labels',
  tfc_padding: 'ikelab sends no TFC padding',
  hw_offload: 'ikelab has no hardware offload',
  copy_df: 'ikelab copies no outer header fields',
  copy_ecn: 'ikelab copies no outer header fields',
  copy_dscp: 'ikelab copies no outer header fields',
  sha256_96: 'ikelab uses the standard 128-bit HMAC-SHA256 truncation only',
  per_cpu_sas: 'ikelab has no per-CPU SAs',
};

export const AUTH_IGNORED = 'ikelab authenticates with PSKs only (auth, id)';

/** strongswan.conf charon.<key> -> ikelab daemon.<path>, in output order. */
export const CHARON_KEYS: Record<string, string[]> = {
  port: ['port'],
  port_nat_t: ['natt_port'],
  keep_alive: ['keep_alive'],
  cookie_threshold: ['cookie_threshold'],
  cookie_threshold_ip: ['cookie_threshold_ip'],
  block_threshold: ['block_threshold'],
  init_limit_half_open: ['init_limit_half_open'],
  fragment_size: ['fragment_size'],
  retransmit_timeout: ['retransmit', 'timeout'],
  retransmit_base: ['retransmit', 'base'],
  retransmit_tries: ['retransmit', 'tries'],
  retransmit_jitter: ['retransmit', 'jitter'],
  retransmit_limit: ['retransmit', 'limit'],
};

export const CHARON_IGNORED: Record<string, string> = {
  load: 'ikelab has no plugins',
  load_modular: 'ikelab has no plugins',
  plugins: 'ikelab has no plugins',
  syslog: 'ikelab logs to stdout or daemon.log.file, not syslog',
  threads: 'ikelab runs on one event loop',
  install_routes: 'ikelab installs no routes',
  install_virtual_ip: 'ikelab installs no virtual IPs',
};
