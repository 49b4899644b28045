// More than one CHILD_SA per IKE_SA against a real strongSwan: an additional CHILD_SA with CREATE_CHILD_SA
// (ikelab initiate --child on an established IKE_SA, and strongSwan initiating it), INVALID_KE_PAYLOAD in
// CREATE_CHILD_SA answered by retrying with the requested group, CHILD_SA delete from either side, and
// close_action = start re-creating a CHILD_SA the peer closed.
import { describe, expect, it } from 'vitest';
import { FAST_RETRANSMIT, type Lab, requireInterop, type Charon, type Ikelab, type SwanSa, useLab } from '../helpers/lab.js';

const RUN = requireInterop();

function swanConf(esp2 = 'aes256-sha256-modp2048') {
  return `connections { bar { local_addrs = 10.98.0.1
  remote_addrs = 10.98.0.2
  proposals = aes256-sha256-modp2048
  local { auth = psk
          id = 10.98.0.1 }
  remote { auth = psk
           id = 10.98.0.2 }
  children {
    net { local_ts = 10.11.0.0/24
          remote_ts = 10.12.0.0/24
          esp_proposals = aes256-sha256 }
    net2 { local_ts = 10.21.0.0/24
           remote_ts = 10.22.0.0/24
           esp_proposals = ${esp2} } } } }
secrets { ike-bar { id-1 = 10.98.0.1
                    id-2 = 10.98.0.2
                    secret = "barsecret" } }
`;
}

function ikelabConf(sock: string, o: { esp2?: string; start?: boolean; closeAction?: string } = {}) {
  return `daemon: { listen: [10.98.0.2], control_socket: ${sock}, retransmit: { timeout: 1, base: 1.4, tries: 3 } }
connections:
  bar:
    local_addrs: [10.98.0.2]
    remote_addrs: [10.98.0.1]
    proposals: [aes256-sha256-modp2048]
    local: { auth: psk, id: 10.98.0.2 }
    remote: { auth: psk, id: 10.98.0.1 }
    children:
      net: { local_ts: [10.12.0.0/24], remote_ts: [10.11.0.0/24], esp_proposals: [aes256-sha256], start_action: ${o.start ? 'start' : 'none'} }
      net2: { local_ts: [10.22.0.0/24], remote_ts: [10.21.0.0/24], esp_proposals: [${o.esp2 ?? 'aes256-sha256-modp2048'}], close_action: ${o.closeAction ?? 'none'} }
secrets:
  ike-bar: { id: [10.98.0.1, 10.98.0.2], secret: barsecret }
`;
}

const installed = (sas: SwanSa[], name: string) => sas.flatMap((s) => s.children).filter((c) => c.name === name && c.state === 'INSTALLED');
const ikelabInstalled = (sas: any[], name: string) =>
  sas.flatMap((s) => s.children).filter((c: any) => c.name === name && c.state === 'INSTALLED');

describe.skipIf(!RUN)('interop: several CHILD_SAs per IKE_SA', () => {
  let lab: Lab;
  let swan: Charon | undefined;
  let ike: Ikelab | undefined;
  useLab(async (l) => {
    lab = l;
    // kernel-libipsec needs a local address inside each local_ts (LAB.md)
    expect((await lab.execIn('s', ['ip', 'addr', 'add', '10.21.0.1/32', 'dev', 'lo'])).code).toBe(0);
  });

  async function up(o: { esp2?: string; swanEsp2?: string; closeAction?: string } = {}) {
    swan = await lab.startCharon({ swanctlConf: swanConf(o.swanEsp2), strongswanConfExtra: FAST_RETRANSMIT });
    ike = await lab.startIkelab(ikelabConf(lab.path('k', 'ikelab.sock'), { ...o, start: true }));
    await swan.waitFor((x) => installed(x, 'net').length === 1, 8000);
    return { swan, ike };
  }

  it('ikelab adds a second CHILD_SA with PFS on the established IKE_SA; then deletes it', async () => {
    const { swan, ike } = await up();
    expect((await ike.cli(['initiate', '--child', 'net2'])).code).toBe(0);
    const sw = await swan.waitFor((x) => installed(x, 'net2').length === 1, 8000);
    expect(sw.length).toBe(1);
    expect(installed(sw, 'net2')[0]!.dhGroup).toBe('MODP_2048');
    const ik = await ike.waitFor((x) => ikelabInstalled(x, 'net2').length === 1, 3000);
    expect(ik.length).toBe(1);
    expect(ikelabInstalled(ik, 'net2')[0].spiIn).toBe(installed(sw, 'net2')[0]!.spiOut);
    expect(ike.log()).toMatch(/generating CREATE_CHILD_SA request \d+ \[ SA No KE TSi TSr \]/);
    expect((await ike.cli(['terminate', '--child', 'net2'])).code).toBe(0);
    await swan.waitFor((x) => installed(x, 'net2').length === 0, 5000);
    await ike.waitFor((x) => ikelabInstalled(x, 'net2').length === 0 && ikelabInstalled(x, 'net').length === 1, 3000);
    expect(ike.log()).toContain('CHILD_SA closed');
  });

  it('strongSwan adds the second CHILD_SA; strongSwan deletes it', async () => {
    const { swan, ike } = await up();
    expect((await swan.swanctl(['--initiate', '--child', 'net2'])).code).toBe(0);
    const ik = await ike.waitFor((x) => ikelabInstalled(x, 'net2').length === 1, 5000);
    expect(ikelabInstalled(ik, 'net2')[0].dhGroup).toBe(14);
    expect((await swan.swanctl(['--terminate', '--child', 'net2'])).code).toBe(0);
    await ike.waitFor((x) => ikelabInstalled(x, 'net2').length === 0, 5000);
    expect(ike.log()).toMatch(/received DELETE for ESP CHILD_SA with SPI [0-9a-f]{8}/);
  });

  it('INVALID_KE_PAYLOAD in CREATE_CHILD_SA: ikelab retries with the group strongSwan wants', async () => {
    const { swan, ike } = await up({ esp2: 'aes256-sha256-modp2048-ecp256', swanEsp2: 'aes256-sha256-ecp256' });
    expect((await ike.cli(['initiate', '--child', 'net2'])).code).toBe(0);
    const sw = await swan.waitFor((x) => installed(x, 'net2').length === 1, 8000);
    expect(installed(sw, 'net2')[0]!.dhGroup).toBe('ECP_256');
    expect(ike.log()).toContain("peer didn't accept DH group MODP_2048, it requested ECP_256");
    expect(swan.log()).toMatch(/N\(INVAL_KE\)/);
  });

  it('close_action start: strongSwan deletes net2, ikelab creates it again', async () => {
    const { swan, ike } = await up({ closeAction: 'start' });
    expect((await ike.cli(['initiate', '--child', 'net2'])).code).toBe(0);
    const first = installed(await swan.waitFor((x) => installed(x, 'net2').length === 1, 8000), 'net2')[0]!;
    expect((await swan.swanctl(['--terminate', '--child', 'net2'])).code).toBe(0);
    const again = await swan.waitFor((x) => installed(x, 'net2').some((c) => c.spiIn !== first.spiIn), 8000);
    expect(installed(again, 'net2').length).toBe(1);
    expect(ike.log()).toContain('restarting CHILD_SA net2');
  });
});
