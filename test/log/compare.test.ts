// src/log/compare.ts: line shapes (each placeholder rule on hand-made lines), the in-order pairing and its tie
// rule, the percentage, the report, and the real reference logs in test/fixtures compared with themselves and
// with altered copies. The expected shapes were checked against the charon-logdiff tool the rules come from.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { compareLogs, formatPercent, formatReport, lineShape, pairInOrder, shapeLog, summaryLine } from '../../src/log/compare.js';
import { REFERENCE_LOGS_DIR } from '../helpers/fixtures.js';

const T = 'Dec  1 10:00:00 ';
const shape = (line: string, payloads = false) => lineShape(line, { payloads });

describe('line shapes', () => {
  test('time stamp, syslog prefix and thread id are dropped', () => {
    const want = '[IKE] initiating IKE_SA NAME[N] to ADDR';
    for (const line of [
      `${T}05[IKE] initiating IKE_SA lab[1] to 10.98.0.1`,
      'Dec 12 23:59:59.123456 14[IKE] initiating IKE_SA lab[12] to 10.98.0.1', // two-digit day, fractions
      `daemon.info: ${T}host-1 charon[4711]: 07[IKE] initiating IKE_SA lab[1] to 10.98.0.1`, // syslog
      'peer-a charon: 07[IKE] initiating IKE_SA lab[1] to 10.98.0.1', // ikelab's syslog_prefix, no time
      '07[IKE] initiating IKE_SA lab[1] to 10.98.0.1', // time_format none
      `${T}07[IKE]initiating IKE_SA lab[1] to 10.98.0.1   `, // no space after the group, trailing blanks
    ]) {
      expect(shape(line), line).toBe(want);
    }
  });

  test('only IKE, ENC, NET, CFG and CHD lines take part; config and vici chatter does not', () => {
    expect(shape(`${T}00[DMN] Starting IKE charon daemon (strongSwan 5.9.8, Linux 6.1.0, x86_64)`)).toBeNull();
    expect(shape(`${T}06[KNL] 10.98.0.1 appeared on sv`)).toBeNull();
    expect(shape(`${T}09[CFG] loaded IKE shared key with id 'ike-1' for: '10.98.0.1', '10.98.0.2'`)).toBeNull();
    expect(shape(`${T}09[CFG] added vici connection: lab`)).toBeNull();
    expect(shape(`${T}09[CFG] added configuration 'lab'`)).toBeNull();
    expect(shape(`${T}09[CFG] vici initiate CHILD_SA 'net', me %any, other %any, limits 0`)).toBeNull();
    expect(shape(`${T}09[CFG] unloaded connection 'lab'`)).toBeNull();
    expect(shape(`${T}12[IKE] received unknown vendor ID: 4f:45:70:6f`)).toBeNull();
    expect(shape(`${T}12[ike] lower-case group`)).toBeNull();
    expect(shape(`${T}x12[IKE] not a thread number`)).toBeNull();
    expect(shape('')).toBeNull();
    expect(shape(`${T}09[CFG] selected proposal: IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048`)).toBe(
      '[CFG] selected proposal: IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048',
    );
  });

  test('SA names, unique ids, SPIs', () => {
    expect(shape(`${T}12[IKE] IKE_SA my-conn.v2[3] established between 10.98.0.2[10.98.0.2]...10.98.0.1[10.98.0.1]`)).toBe(
      '[IKE] IKE_SA NAME[N] established between ADDR[ADDR]...ADDR[ADDR]',
    );
    expect(shape(`${T}12[IKE] CHILD_SA net{7} established with SPIs c1a2b3c4_i d5e6f7a8_o and TS 10.12.0.0/24 === 10.11.0.0/24`)).toBe(
      '[IKE] CHILD_SA NAME{N} established with SPIs SPI SPI and TS ADDR === ADDR',
    );
    expect(shape(`${T}12[IKE] IKE_SA lab[1] 7a1c3e5b9f2d4c68_i* 0011223344556677_r`)).toBe('[IKE] IKE_SA NAME[N] IKESPI IKESPI');
    expect(shape(`${T}12[IKE] received DELETE for ESP CHILD_SA with SPI c1a2b3c4`)).toBe(
      '[IKE] received DELETE for ESP CHILD_SA with SPI SPI',
    );
    expect(
      shape(
        `${T}12[IKE] closing CHILD_SA net{1} with SPIs c1a2b3c4_i (168 bytes) d5e6f7a8_o (168 bytes) and TS 10.12.0.0/24 === 10.11.0.0/24`,
      ),
    ).toBe('[IKE] closing CHILD_SA NAME{N} with SPIs SPI (N bytes) SPI (N bytes) and TS ADDR === ADDR');
  });

  test('addresses, ports, byte counts, message ids, durations, other numbers', () => {
    expect(shape(`${T}12[NET] sending packet: from 10.98.0.2[4500] to 10.98.0.1[4500] (236 bytes)`)).toBe(
      '[NET] sending packet: from ADDR[N] to ADDR[N] (N bytes)',
    );
    expect(shape(`${T}12[IKE] initiating IKE_SA lab[1] to fd00:98::1`)).toBe('[IKE] initiating IKE_SA NAME[N] to ADDR');
    // an IPv6 run must start at a word boundary: a bare ::/0 keeps its colons
    expect(shape(`${T}12[CHD] TS ::/0 and fd00::/64 and 0.0.0.0/0`)).toBe('[CHD] TS ::/N and ADDR and ADDR');
    expect(shape(`${T}12[IKE] retransmit 2 of request with message ID 0`)).toBe('[IKE] retransmit N of request with message ID N');
    expect(shape(`${T}12[IKE] scheduling rekeying in 3598s`)).toBe('[IKE] scheduling rekeying in Ns');
    expect(shape(`${T}12[IKE] maximum IKE_SA lifetime 2.5s`)).toBe('[IKE] maximum IKE_SA lifetime Ns');
    // numbers only as whole words; three colon-separated groups look like an address
    expect(shape(`${T}12[IKE] time 10:20:30 and abc1234 and x2y and 12ab and 42`)).toBe(
      '[IKE] time ADDR and abc1234 and x2y and 12ab and N',
    );
    // words and digits are Unicode ones
    expect(shape(`${T}12[IKE] ID 'müller@ex.com' 5ü and ٣ and x٣`)).toBe("[IKE] ID 'müller@ex.com' 5ü and N and x٣");
  });

  test('payload lists: kinds only by default, notifies too with payloads', () => {
    const init = `${T}12[ENC] parsed IKE_SA_INIT response 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) N(HASH_ALG) ]`;
    expect(shape(init)).toBe('[ENC] parsed IKE_SA_INIT response N [ SA KE No ]');
    expect(shape(init, true)).toBe('[ENC] parsed IKE_SA_INIT response N [ SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) N(HASH_ALG) ]');
    expect(shape(`${T}12[ENC] generating INFORMATIONAL response 5 [ N(AUTH_LFT) ]`)).toBe('[ENC] generating INFORMATIONAL response N [ ]');
    expect(shape(`${T}12[ENC] generating INFORMATIONAL request 2 [ ]`)).toBe('[ENC] generating INFORMATIONAL request N [ ]');
    expect(shape(`${T}12[ENC] generating INFORMATIONAL request 2 [ ]`, true)).toBe('[ENC] generating INFORMATIONAL request N [ ]');
  });

  test('shapeLog keeps line numbers and originals; \\r\\n and lone \\r end lines too', () => {
    const log = `${T}00[DMN] start\r\n${T}05[IKE] initiating IKE_SA lab[1] to 10.98.0.1\r${T}06[NET] sending packet: from 10.98.0.2[500] to 10.98.0.1[500] (100 bytes)\n`;
    expect(shapeLog(log)).toEqual([
      { line: 2, original: `${T}05[IKE] initiating IKE_SA lab[1] to 10.98.0.1`, shape: '[IKE] initiating IKE_SA NAME[N] to ADDR' },
      {
        line: 3,
        original: `${T}06[NET] sending packet: from 10.98.0.2[500] to 10.98.0.1[500] (100 bytes)`,
        shape: '[NET] sending packet: from ADDR[N] to ADDR[N] (N bytes)',
      },
    ]);
  });
});

describe('pairing in order', () => {
  const missingOf = (a: string[], b: string[]) => a.filter((_, k) => !pairInOrder(a, b)[k]);

  test('lines of ours that the reference lacks do not count against it', () => {
    expect(pairInOrder(['A', 'B', 'C'], ['x', 'A', 'y', 'B', 'C', 'z'])).toEqual([true, true, true]);
  });

  test('order matters: of two swapped lines one is missing, the earlier reference line', () => {
    expect(missingOf(['A', 'B', 'C'], ['A', 'C', 'B'])).toEqual(['B']);
    expect(missingOf(['A', 'B'], ['B', 'A'])).toEqual(['A']);
  });

  test('each line of ours pairs once: a repeated reference line needs two partners', () => {
    expect(pairInOrder(['A', 'B', 'A'], ['A', 'B'])).toEqual([true, true, false]);
  });

  test('among equally long pairings the later reference line is the one paired', () => {
    // A could pair with the one A of ours at either position; the first is reported missing
    expect(pairInOrder(['A', 'A'], ['x', 'A'])).toEqual([false, true]);
    expect(pairInOrder(['A', 'A'], ['A'])).toEqual([true, false]); // equal lines at the front pair at once
  });

  test('the longest pairing wins over a greedy one', () => {
    // greedy "first partner" would pair C early and lose A and B
    expect(pairInOrder(['A', 'B', 'C'], ['C', 'A', 'B'])).toEqual([true, true, false]);
  });

  test('empty sides', () => {
    expect(pairInOrder([], ['A'])).toEqual([]);
    expect(pairInOrder(['A'], [])).toEqual([false]);
  });
});

describe('score and report', () => {
  test('percent rounds to nearest, ties to even', () => {
    expect(formatPercent(25, 27)).toBe('93');
    expect(formatPercent(1, 8)).toBe('12'); // 12.5
    expect(formatPercent(3, 8)).toBe('38'); // 37.5
    expect(formatPercent(5, 8)).toBe('62'); // 62.5
    expect(formatPercent(1, 200)).toBe('0'); // 0.5
    expect(formatPercent(3, 200)).toBe('2'); // 1.5
    expect(formatPercent(2, 3)).toBe('67');
    expect(formatPercent(0, 0)).toBe('0');
    expect(formatPercent(7, 7)).toBe('100');
  });

  test('report: missing lines, then the summary', () => {
    const ref = `${T}05[IKE] initiating IKE_SA lab[1] to 10.98.0.1\n${T}05[ENC] generating INFORMATIONAL request 2 [ D ]\n`;
    const ours = `${T}09[IKE] initiating IKE_SA bar[4] to 10.98.0.9\n`;
    const r = compareLogs(ref, ours);
    expect(r).toMatchObject({ matched: 1, total: 2, score: 0.5, complete: false });
    expect(r.missing.map((l) => l.line)).toEqual([2]);
    expect(formatReport(r, { show: true })).toBe(
      'missing: [ENC] generating INFORMATIONAL request N [ D ]\n1/2 reference lines matched in order (50%)\n',
    );
    expect(formatReport(r)).toBe('1/2 reference lines matched in order (50%)\n');
    expect(summaryLine({ matched: 0, total: 0 })).toBe('0/0 reference lines matched in order (0%)');
    expect(compareLogs('', ours)).toMatchObject({ matched: 0, total: 0, score: 0, complete: false });
  });
});

describe('the reference logs (test/fixtures/charon-logs)', () => {
  const scenarios = readdirSync(REFERENCE_LOGS_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  const read = (scenario: string, role: string) => readFileSync(join(REFERENCE_LOGS_DIR, scenario, `${role}.log`), 'utf8');

  test('all ten scenarios are there', () => {
    expect(scenarios).toHaveLength(10);
    expect(scenarios).toContain('establish-psk');
  });

  for (const scenario of scenarios) {
    for (const role of ['initiator', 'responder']) {
      test(`${scenario}/${role}.log against itself: 100%; against an altered copy: less, naming the line`, () => {
        const ref = read(scenario, role);
        for (const payloads of [false, true]) {
          const same = compareLogs(ref, ref, { payloads });
          expect(same.total).toBeGreaterThan(5);
          expect(same).toMatchObject({ matched: same.total, score: 1, complete: true, missing: [] });
        }
        // drop the first ENC line (a payload summary) from a copy
        const lines = ref.split('\n');
        const k = lines.findIndex((l) => /\d+\[ENC\] (generating|parsed) /.test(l));
        expect(k).toBeGreaterThanOrEqual(0);
        const altered = [...lines.slice(0, k), ...lines.slice(k + 1)].join('\n');
        const r = compareLogs(ref, altered, { payloads: true });
        expect(r.score).toBeLessThan(1);
        expect(r.complete).toBe(false);
        expect(r.matched).toBe(r.total - 1);
        expect(r.missing.map((l) => l.line)).toEqual([k + 1]);
        expect(r.missing[0]!.shape).toBe(lineShape(lines[k]!, { payloads: true }));
        expect(formatReport(r, { show: true })).toContain(`missing: ${lineShape(lines[k]!, { payloads: true })}\n`);
      });
    }
  }

  test('a notify dropped from one payload list counts only with payloads', () => {
    const ref = read('establish-psk', 'initiator');
    const altered = ref.replace(/ N\(NATD_S_IP\)/, '');
    expect(altered).not.toBe(ref);
    expect(compareLogs(ref, altered).complete).toBe(true);
    const full = compareLogs(ref, altered, { payloads: true });
    expect(full.missing).toHaveLength(1);
    expect(full.missing[0]!.shape).toContain('N(NATD_S_IP)');
  });

  test('two lines swapped in a copy: one is missing', () => {
    const ref = read('establish-psk', 'responder');
    const lines = ref.split('\n');
    const ikeLines = lines.flatMap((l, k) => (lineShape(l) ? [k] : []));
    const [p, q] = [ikeLines[3]!, ikeLines[4]!];
    expect(lineShape(lines[p]!)).not.toBe(lineShape(lines[q]!));
    [lines[p], lines[q]] = [lines[q]!, lines[p]!];
    const r = compareLogs(ref, lines.join('\n'));
    expect(r.matched).toBe(r.total - 1);
  });

  test("the other side's log is far from a match", () => {
    const r = compareLogs(read('establish-psk', 'initiator'), read('establish-psk', 'responder'));
    expect(r.score).toBeLessThan(0.9);
    // charon-logdiff gives the same: 15/27 (56%)
    expect(summaryLine(r)).toBe('15/27 reference lines matched in order (56%)');
  });
});
