// Config writers for interop scenarios: the same tunnel described once, rendered as strongSwan's swanctl.conf
// (host s, 10.98.0.1, protects 10.11.0.0/24) and as ikelab's YAML (host k, 10.98.0.2, protects 10.12.0.0/24).
export interface Scenario {
  ikeProposals?: string; // strongSwan side
  espProposals?: string;
  ikelabIke?: string; // ikelab side (defaults to the same)
  ikelabEsp?: string;
  swanPsk?: string;
  ikelabPsk?: string;
  swanLocalTs?: string;
  swanRemoteTs?: string;
  ikelabLocalTs?: string;
  ikelabRemoteTs?: string;
  ikelabStart?: 'start' | 'none';
  dpdDelay?: string;
  /** false: strongSwan does not negotiate MOBIKE, so it sends no address update (an INFORMATIONAL) after IKE_AUTH. */
  mobike?: boolean;
  encap?: boolean;
  retransmit?: { timeout: number; base: number; tries: number };
  /** ikelab's virtual host addresses inside its local_ts (answers pings through the tunnel). */
  hostAddrs?: string[];
}

export const DEFAULT_IKE = 'aes256-sha256-modp2048';
export const DEFAULT_ESP = 'aes256-sha256-modp2048';

export function swanctlConf(s: Scenario): string {
  return `connections {
  bar {
    local_addrs = 10.98.0.1
    remote_addrs = 10.98.0.2
    version = 2
    proposals = ${s.ikeProposals ?? DEFAULT_IKE}
    ${s.dpdDelay ? `dpd_delay = ${s.dpdDelay}` : ''}
    ${s.mobike === false ? 'mobike = no' : ''}
    local { auth = psk
            id = 10.98.0.1 }
    remote { auth = psk
             id = 10.98.0.2 }
    children { net { local_ts = ${s.swanLocalTs ?? '10.11.0.0/24'}
                     remote_ts = ${s.swanRemoteTs ?? '10.12.0.0/24'}
                     esp_proposals = ${s.espProposals ?? DEFAULT_ESP} } }
  }
}
secrets { ike-bar { id-1 = 10.98.0.1
                    id-2 = 10.98.0.2
                    secret = "${s.swanPsk ?? 'barsecret'}" } }
`;
}

export function ikelabYaml(s: Scenario, controlSocket: string): string {
  const rt = s.retransmit ?? { timeout: 1, base: 1.4, tries: 3 };
  return `daemon:
  listen: [10.98.0.2]
  port: 500
  natt_port: 4500
  control_socket: ${controlSocket}
  retransmit: { timeout: ${rt.timeout}, base: ${rt.base}, tries: ${rt.tries} }
connections:
  bar:
    local_addrs: [10.98.0.2]
    remote_addrs: [10.98.0.1]
    version: 2
    proposals: [${s.ikelabIke ?? s.ikeProposals ?? DEFAULT_IKE}]
    ${s.dpdDelay ? `dpd_delay: ${s.dpdDelay}` : ''}
    ${s.encap ? 'encap: yes' : ''}
    local: { auth: psk, id: 10.98.0.2 }
    remote: { auth: psk, id: 10.98.0.1 }
    children:
      net:
        local_ts: [${s.ikelabLocalTs ?? '10.12.0.0/24'}]
        remote_ts: [${s.ikelabRemoteTs ?? '10.11.0.0/24'}]
        esp_proposals: [${s.ikelabEsp ?? s.espProposals ?? DEFAULT_ESP}]
        start_action: ${s.ikelabStart ?? 'none'}
        ${s.hostAddrs ? `host_addrs: [${s.hostAddrs.join(', ')}]` : ''}
secrets:
  ike-bar:
    id: [10.98.0.1, 10.98.0.2]
    secret: ${s.ikelabPsk ?? 'barsecret'}
`;
}
