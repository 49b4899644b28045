// The report of `ikelab convert` (src/config/swanctl/report.ts) on its own: line references relative to the
// swanctl.conf given, the order of the ignored keys (by file as first met, then line) and the YAML's opening
// comment. The report as a conversion produces it is in swanctl-convert.test.ts.
import { describe, expect, test } from 'vitest';
import { type Ignored, posText, reportHeader, sortInInputOrder } from '../../src/config/swanctl/report.js';

const files = { swanctlFile: '/etc/swanctl/swanctl.conf', strongswanFile: '/etc/strongswan.conf' };
const ignored = (file: string, line: number, path = 'x'): Ignored => ({ path, pos: { file, line }, reason: 'why' });

describe('posText', () => {
  test('the swanctl.conf given: the line alone; strongswan.conf: its name and line', () => {
    expect(posText({ file: files.swanctlFile, line: 12 }, files)).toBe('line 12');
    expect(posText({ file: files.strongswanFile, line: 2 }, files)).toBe('strongswan.conf line 2');
  });

  test('an included file: relative to the swanctl.conf when below it, else its full path', () => {
    expect(posText({ file: '/etc/swanctl/conf.d/x.conf', line: 3 }, files)).toBe('conf.d/x.conf line 3');
    expect(posText({ file: '/srv/more/x.conf', line: 4 }, files)).toBe('/srv/more/x.conf line 4');
  });
});

describe('sortInInputOrder', () => {
  test('by file in the order first met, then by line', () => {
    const list = [
      ignored('/b.conf', 9, 'b9'),
      ignored('/a.conf', 5, 'a5'),
      ignored('/b.conf', 1, 'b1'),
      ignored('/a.conf', 2, 'a2'),
      ignored('/c.conf', 1, 'c1'),
    ];
    sortInInputOrder(list);
    expect(list.map((i) => i.path)).toEqual(['b1', 'b9', 'a2', 'a5', 'c1']);
  });
});

describe('reportHeader', () => {
  test('every entry one comment line, a blank line before the YAML', () => {
    const header = reportHeader(
      files,
      [{ path: 'connections.rw.pools', pos: { file: files.swanctlFile, line: 21 }, reason: 'no pools\nat all' }],
      [{ path: 'connections.rw.remote_addrs', value: '%any', reason: 'a default' }],
    );
    expect(header).toBe(
      [
        '# ikelab config converted from swanctl.conf and strongswan.conf by `ikelab convert`',
        '# ignored: connections.rw.pools (line 21): no pools at all',
        '# added: connections.rw.remote_addrs = %any: a default',
        '',
        '',
      ].join('\n'),
    );
  });

  test('nothing left out says so; without strongswan.conf only swanctl.conf is named', () => {
    expect(reportHeader({ swanctlFile: '/etc/swanctl/swanctl.conf' }, [], [])).toBe(
      '# ikelab config converted from swanctl.conf by `ikelab convert`\n# nothing ignored\n\n',
    );
  });
});
