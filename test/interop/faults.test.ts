// Fault rules against a real strongSwan, added and cleared at run time over ikelab's control socket (no restart):
// (a) `dead` on ikelab while strongSwan runs DPD: strongSwan retransmits and gives up while ikelab sends nothing at
//     all for that IKE_SA (its counters and the socket's transmit counter prove it: no IKE, no ESP, no NAT-T
//     keepalive); once the rule is cleared the tunnel comes back (strongSwan's dpd_action = restart).
// (b) esp-replay: ikelab sends ESP packets of the CHILD_SA again and strongSwan's libipsec rejects every copy in
//     its replay check ("ESP sequence number verification failed", esp_packet.c, DBG1 so in the level-1 log).
import { describe, expect, it } from 'vitest';
import { FAST_RETRANSMIT, type Lab, established, requireInterop, type Charon, type Ikelab, useLab } from '../helpers/lab.js';
import { DEFAULT_ESP, ikelabYaml, swanctlConf } from '../helpers/scenario.js';

const RUN = requireInterop();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const HOST = '10.12.0.7'; // ikelab's virtual host, inside its local_ts
const SWAN = '10.11.0.1'; // on strongSwan's lo, inside its local_ts

async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}

const json = (r: { code: number; stdout: string; stderr: string }) => {
  expect(r.code, r.stdout + r.stderr).toBe(0);
  return JSON.parse(r.stdout);
};

describe.skipIf(!RUN)('interop: fault rules against strongSwan', () => {
  let lab: Lab;
  let swan: Charon | undefined;
  let ike: Ikelab | undefined;
  useLab((l) => {
    lab = l;
  });

  it("dead on ikelab: strongSwan's DPD retransmits and gives up, ikelab sends nothing at all; cleared, the tunnel is back", async () => {
    // strongSwan: DPD every 2 s, dpd_action restart, keyingtries 0 (retry for ever); ikelab: keepalives every second
    const conf = swanctlConf({ dpdDelay: '2s' })
      .replace('    version = 2', '    version = 2\n    keyingtries = 0')
      .replace(`esp_proposals = ${DEFAULT_ESP} }`, `esp_proposals = ${DEFAULT_ESP}\n                     dpd_action = restart }`);
    swan = await lab.startCharon({ swanctlConf: conf, strongswanConfExtra: FAST_RETRANSMIT });
    ike = await lab.startIkelab(
      ikelabYaml({ ikelabStart: 'start', hostAddrs: [HOST] }, lab.path('k', 'ikelab.sock')).replace(
        '  natt_port: 4500\n',
        '  natt_port: 4500\n  keep_alive: 1s\n',
      ),
    );
    await swan.waitFor((x) => established(x, 'bar', 'net'), 8000);
    const [up] = await ike.waitFor((x) => x.length === 1 && x[0].children.some((c: any) => c.state === 'INSTALLED'), 5000);
    await until(async () => (await ike!.listSas())[0].counters.keepalivesOut >= 2, 5000, 'ikelab keepalives');

    const added = await ike.cli(['fault', 'add', 'dead-bar', '--match', 'ike=bar', '--action', 'dead']);
    expect(added.code, added.stdout + added.stderr).toBe(0);
    expect(added.stdout).toContain("fault rule 'dead-bar' added: --match ike=bar --action dead");
    const [before] = await ike.listSas();
    const txBefore = json(await ike.cli(['stats'])).transport.tx;

    // traffic from strongSwan's side while ikelab is dead: nothing comes back
    const ping = await lab.execIn('s', ['ping', '-n', '-c', '2', '-i', '0.3', '-W', '1', '-I', SWAN, HOST], 10_000);
    expect(ping.stdout).toMatch(/2 packets transmitted, 0 received/);

    await until(() => swan!.log().includes('giving up after 3 retransmits'), 20_000, "strongSwan's DPD to give up");
    const slog = swan.log();
    expect(slog).toContain('sending DPD request');
    const rt = [...slog.matchAll(/retransmit (\d) of request with message ID (\d+)/g)];
    expect(rt.map((m) => m[1])).toEqual(expect.arrayContaining(['1', '2', '3']));
    expect(new Set(rt.map((m) => m[2])).size).toBeGreaterThanOrEqual(1);

    // ikelab sent nothing for that IKE_SA: no IKE message, no ESP packet, no keepalive; the socket sent nothing at all
    const after = (await ike.listSas()).find((s: any) => s.uniqueId === up.uniqueId);
    expect(after.counters.messagesOut).toBe(before.counters.messagesOut);
    expect(after.counters.keepalivesOut).toBe(before.counters.keepalivesOut);
    expect(after.children[0].counters.packetsOut).toBe(before.children[0].counters.packetsOut);
    expect(after.children[0].counters.packetsIn).toBe(before.children[0].counters.packetsIn);
    expect(json(await ike.cli(['stats'])).transport.tx).toBe(txBefore);
    const ilog = ike.log();
    expect(ilog).toMatch(/\[IKE\] fault 'dead-bar': dropped INFORMATIONAL request \d+ \(dead until cleared\)/);
    expect(ilog).toMatch(/\[ESP\] fault 'dead-bar': dropped inbound ESP packet SPI [0-9a-f]{8} seq \d+ \(dead until cleared\)/);
    expect(ilog).toContain("[NET] fault 'dead-bar': dropped NAT-T keepalive (dead until cleared)");
    const list = await ike.cli(['fault', 'list']);
    expect(list.stdout).toMatch(/^dead-bar\s+active\s+[1-9]\d*\s+\d+\s+--match ike=bar --action dead$/m);

    // cleared at run time: strongSwan's next IKE_SA_INIT gets through and the tunnel is up again
    expect((await ike.cli(['fault', 'clear', 'dead-bar'])).stdout).toBe("cleared fault rule 'dead-bar'\n");
    const sw = await swan.waitFor(
      (x) => x.some((s) => s.state === 'ESTABLISHED' && s.spiI !== up.spiI && s.children.some((c) => c.state === 'INSTALLED')),
      15_000,
    );
    expect(sw.length).toBeGreaterThanOrEqual(1);
    await ike.waitFor((x) => x.some((s: any) => s.state === 'ESTABLISHED' && s.uniqueId > up.uniqueId && s.children.length === 1), 5000);
    const back = await lab.execIn('s', ['ping', '-n', '-c', '2', '-i', '0.3', '-W', '2', '-I', SWAN, HOST], 10_000);
    expect(back.stdout).toMatch(/2 packets transmitted, 2 received/);
    expect(json(await ike.cli(['stats'])).transport.tx).toBeGreaterThan(txBefore);
  }, 60_000);

  it("esp-replay: ikelab sends packets again, strongSwan's replay check rejects every copy", async () => {
    swan = await lab.startCharon({ swanctlConf: swanctlConf({}), strongswanConfExtra: FAST_RETRANSMIT });
    ike = await lab.startIkelab(ikelabYaml({ ikelabStart: 'start', hostAddrs: [HOST] }, lab.path('k', 'ikelab.sock')));
    await swan.waitFor((x) => established(x, 'bar', 'net'), 8000);
    await ike.waitFor((x) => x.length === 1 && x[0].children.some((c: any) => c.state === 'INSTALLED'), 5000);

    // with its 4th outbound ESP packet ikelab sends the 3 before it once more
    const added = await ike.cli(['fault', 'add', 'replay3', '--match', 'proto=esp,dir=out,nth=4', '--action', 'esp-replay=3']);
    expect(added.code, added.stdout + added.stderr).toBe(0);
    const ping = await lab.execIn('s', ['ping', '-n', '-c', '5', '-i', '0.2', '-W', '2', '-I', SWAN, HOST], 20_000);
    expect(ping.stdout).toMatch(/5 packets transmitted, 5 received/);
    expect(ike.log()).toMatch(/\[ESP\] fault 'replay3': replaying the last 3 packets with outbound ESP packet SPI [0-9a-f]{8} seq 4/);

    // libipsec (esp_packet.c): DBG1(DBG_ESP, "ESP sequence number verification failed:\n  src %H, dst %H, SPI %.8x [seq %u]")
    const [s] = await swan.listSas();
    const spi = s!.children[0]!.spiIn;
    await until(
      () => (swan!.log().match(/ESP sequence number verification failed/g) ?? []).length >= 3,
      5000,
      "strongSwan's replay rejections",
    );
    // (the second line of the message gets its own time stamp and group in the file log)
    const rejected = [
      ...swan
        .log()
        .matchAll(
          /\[ESP\] ESP sequence number verification failed:\n.*\[ESP\]\s+src 10\.98\.0\.2, dst 10\.98\.0\.1, SPI ([0-9a-f]{8}) \[seq (\d+)\]/g,
        ),
    ];
    expect(rejected.map((m) => m[1])).toEqual([spi, spi, spi]);
    expect(rejected.map((m) => Number(m[2]))).toEqual([1, 2, 3]);
    // what strongSwan accepted is exactly what ikelab sealed once: the copies counted nowhere
    const [sa] = await ike.listSas();
    expect(s!.children[0]!.packetsIn).toBe(sa.children[0].counters.packetsOut);
    expect(sa.children[0].counters.packetsOut).toBe(5);

    expect((await ike.cli(['fault', 'clear'])).stdout).toBe("cleared fault rule 'replay3'\n");
  }, 40_000);
});
