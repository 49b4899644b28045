// A fault firing reaches the JSON (pino) sink as structured fields next to its charon-style text; the text sinks
// print the text only.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { Logger, MemorySink } from '../../src/log/logger.js';
import { PinoSink } from '../../src/log/pino-sink.js';

test('fields of a record are merged into the JSON line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ikelab-fault-json-'));
  try {
    const file = join(dir, 'log.json');
    const mem = new MemorySink();
    const log = new Logger({ default: 1 }, [new PinoSink(file), mem]);
    const event = {
      event: 'fault.fired',
      rule: 'dpd-loss',
      action: 'drop',
      point: 'ike-receive',
      direction: 'in',
      ike: 'bar',
      ikeId: 3,
      exchange: 'INFORMATIONAL',
      role: 'request',
      messageId: 7,
      fired: 1,
      at: 1234,
    };
    log.with({ thread: 3, ikeName: 'bar', ikeId: 3 }).log('IKE', 1, "fault 'dpd-loss': dropped INFORMATIONAL request 7", event);
    await log.close();
    const line = JSON.parse(readFileSync(file, 'utf8').trim());
    expect(line).toMatchObject({ ...event, group: 'IKE', charonLevel: 1, msg: "fault 'dpd-loss': dropped INFORMATIONAL request 7" });
    expect(mem.lines()).toEqual(["03[IKE] fault 'dpd-loss': dropped INFORMATIONAL request 7"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
