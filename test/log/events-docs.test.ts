// The event names are a public interface: docs/EVENTS.md must describe exactly the names the code can emit
// (EVENT_NAMES), each in a table row of its own, so a new event cannot ship undocumented and a documented one
// cannot silently disappear.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { EVENT_NAMES } from '../../src/log/events.js';

const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'EVENTS.md'), 'utf8');

test('every event name has its row in docs/EVENTS.md, and the page documents no other', () => {
  const documented = [...doc.matchAll(/^\| `([a-z]+\.[a-z-]+)` \|/gm)].map((m) => m[1]);
  expect([...documented].sort()).toEqual([...EVENT_NAMES].sort());
  expect(new Set(documented).size).toBe(documented.length);
});
