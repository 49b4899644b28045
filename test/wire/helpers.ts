// Shared test helpers: buffers at a non-zero offset in a larger ArrayBuffer (as dgram's pool slices are),
// a seeded PRNG, a "must not throw" wrapper and access to the reference material.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { FIXTURES_DIR } from '../helpers/fixtures.js';

/** test/fixtures: the strongSwan captures (charon-logs/, kat/). */
export const REFERENCE = FIXTURES_DIR;

/** Copies b into the middle of a bigger ArrayBuffer with garbage around it, returning a view at offset 37. */
export function atOffset(b: Buffer, offset = 37): Buffer {
  const ab = new ArrayBuffer(b.length + offset + 19);
  const all = Buffer.from(ab);
  all.fill(0xa5);
  b.copy(all, offset);
  const view = Buffer.from(ab, offset, b.length);
  expect(view.byteOffset).toBe(offset);
  return view;
}

/** mulberry32: small deterministic PRNG so fuzz failures reproduce. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Calls fn and fails the test if it throws (public decoders must return results, never throw). */
export function noThrow<T>(fn: () => T, what: string): T {
  try {
    return fn();
  } catch (e) {
    expect.fail(`${what} threw: ${String(e)}`);
  }
}

export interface Scenario {
  name: string;
  dir: string;
  capture: string;
  logs: string[];
}

export function scenarios(): Scenario[] {
  const out: Scenario[] = [];
  for (const group of ['charon-logs', 'kat']) {
    const base = join(REFERENCE, group);
    if (!existsSync(base)) throw new Error(`missing test data: ${base} (test/fixtures is part of the repository)`);
    for (const name of readdirSync(base).sort()) {
      const dir = join(base, name);
      const capture = join(dir, 'capture.pcap');
      if (!existsSync(capture)) continue;
      out.push({ name: `${group}/${name}`, dir, capture, logs: ['initiator.log', 'responder.log'].map((f) => join(dir, f)) });
    }
  }
  return out;
}

export const readLines = (path: string): string[] => readFileSync(path, 'utf8').split('\n');

/** "generating IKE_AUTH request 1 [ IDi AUTH ]" -> its parts. */
export interface Summary {
  verb: 'generating' | 'parsed';
  exchange: string;
  kind: 'request' | 'response';
  mid: number;
  list: string;
  thread: string;
}

const summaryRe = /(\d+)\[ENC\] (generating|parsed) (\S+) (request|response) (\d+) \[ ?(.*?) ?\]$/;

export function summaries(lines: string[]): Summary[] {
  const out: Summary[] = [];
  for (const l of lines) {
    const m = summaryRe.exec(l);
    if (m)
      out.push({
        thread: m[1]!,
        verb: m[2] as Summary['verb'],
        exchange: m[3]!,
        kind: m[4] as Summary['kind'],
        mid: Number(m[5]),
        list: m[6]!,
      });
  }
  return out;
}
