// Log fidelity: how much of a reference charon log reappears, in the same order, in another log (normally
// ikelab's). Both logs are reduced to the "shape" of their lines first: everything that differs from run to run
// (time stamps, thread numbers, addresses, SPIs, unique ids, message ids, byte counts, other numbers) becomes a
// placeholder, and only the groups that describe SAs are kept. The score is the number of reference shapes that
// can be paired, order preserved, with shapes of the other log (a longest common subsequence), over the number of
// reference shapes. Pure functions; `ikelab log-compare` and the interop tests read the files.
//
// The rules reproduce the charon-logdiff tool the reference logs were first judged with, so scores and the
// reported missing lines are the same as that tool's. Where a rule talks about word characters, digits or white
// space it means Unicode ones (letters, numbers, underscore), as that tool did.

/** Options of a comparison. */
export interface CompareOptions {
  /**
   * Compare the payload lists of `generating` / `parsed` lines in full, notifies included. Without it only the
   * payload kinds count: every `N(...)` entry is dropped from a line's trailing `[ ... ]` list.
   */
  payloads?: boolean;
}

/** One line that took part in the comparison. */
export interface ShapedLine {
  /** 1-based line number in its log. */
  line: number;
  /** The line as written (without its line break). */
  original: string;
  /** Its shape, e.g. `[ENC] generating IKE_AUTH request N [ IDi AUTH SA TSi TSr ]`. */
  shape: string;
}

export interface CompareResult {
  /** Reference lines paired, in order, with lines of the other log. */
  matched: number;
  /** Reference lines that took part (after filtering). */
  total: number;
  /** matched / total, 0 when the reference has no comparable line. */
  score: number;
  /** Reference lines without a partner, in reference order. */
  missing: ShapedLine[];
  /** true when the reference had lines and every one found its partner. */
  complete: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Character classes (Unicode, see the top of the file)
// ---------------------------------------------------------------------------------------------------------------

/** A word character: letter, number or underscore. */
const W = '[\\p{L}\\p{N}_]';
/** A decimal digit of any script. */
const D = '\\p{Nd}';
/** White space as Unicode defines it (including the information separators U+001C..U+001F and NEL). */
const SPACE_CHARS = '\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
/** Start of a word: no word character just before. */
const WORD_START = `(?<!${W})`;
/** End of a word: no word character just after. */
const WORD_END = `(?!${W})`;
/** A word boundary on either side of the position. */
const BOUNDARY = `(?:(?<=${W})(?!${W})|(?<!${W})(?=${W}))`;

const re = (source: string, flags = 'u'): RegExp => new RegExp(source, flags);

const ONE_SPACE = re(`^[${SPACE_CHARS}]$`);
const SPACE_RUN = re(`[${SPACE_CHARS}]+`);

/** Without white space at either end (a loop, not a regular expression: no backtracking over long runs). */
function trimSpace(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && ONE_SPACE.test(s[start]!)) start++;
  while (end > start && ONE_SPACE.test(s[end - 1]!)) end--;
  return s.slice(start, end);
}

// ---------------------------------------------------------------------------------------------------------------
// Line filter
// ---------------------------------------------------------------------------------------------------------------

/**
 * What may stand before charon's `NN[GRP]`: a syslog `facility.level: `, a time stamp as filelog's
 * `time_format = %b %e %T` writes it (fractions of a second allowed), and syslog's `host charon[pid]: `. Each part
 * is optional and taken greedily in that order.
 */
const LINE_PREFIX = re(
  '^(?:[a-z]+\\.[a-z]+: )?' +
    `(?:[A-Z][a-z]{2} [ ${D}]?${D} ${D}${D}:${D}${D}:${D}${D}(?:\\.${D}+)? )?` +
    `(?:[^${SPACE_CHARS}]+ charon(?:\\[${D}+\\])?: )?`,
);

/** `NN[GRP] text`: thread number, three-letter group, at most one space, the message. */
const CHARON_LINE = re(`^${D}+\\[([A-Z]{3})\\] ?(.*)$`, 'su');

/** The groups that describe SAs; start-up, kernel, library and plugin chatter is not compared. */
const COMPARED_GROUPS: ReadonlySet<string> = new Set(['IKE', 'ENC', 'NET', 'CFG', 'CHD']);

/** Messages about charon's own configuration and control interface, which ikelab has no counterpart for. */
const IGNORED_MESSAGE_STARTS = ['vici ', 'loaded ', 'added vici', 'added configuration', 'unloaded', 'received unknown vendor ID'];

// ---------------------------------------------------------------------------------------------------------------
// Placeholders
// ---------------------------------------------------------------------------------------------------------------

/** A trailing payload list `[ SA KE No N(NATD_S_IP) ]` (no `]` inside it). */
const PAYLOAD_LIST = re('\\[ ([^\\]]*)\\]$');

interface Placeholder {
  what: string;
  pattern: RegExp;
  replacement: string;
}

/**
 * Applied one after the other, in this order (later rules see the earlier placeholders, and numbers go last so
 * that SPIs and addresses are recognised whole).
 */
const PLACEHOLDERS: readonly Placeholder[] = [
  // `IKE_SA bar[3]`, `CHILD_SA net{2}`: the configured name (the number in brackets is handled below)
  { what: 'SA name', pattern: re(`${WORD_START}(IKE_SA|CHILD_SA) [\\p{L}\\p{N}_.-]+(?=[\\[{])`, 'gu'), replacement: '$1 NAME' },
  // `0123456789abcdef_i*` in IKE_SA SPI pairs
  { what: 'IKE SPI', pattern: re(`${WORD_START}[0-9a-f]{16}_[ir]\\*?`, 'gu'), replacement: 'IKESPI' },
  // `c1a2b3c4_i` / `_o`: CHILD_SA SPIs as in `established with SPIs c1a2b3c4_i d5e6f7a8_o`
  { what: 'CHILD_SA SPI', pattern: re(`${WORD_START}[0-9a-f]{8}_[io]${WORD_END}`, 'gu'), replacement: 'SPI' },
  // `SPI c1a2b3c4`, `SPIs c1a2b3c4`
  { what: 'bare SPI', pattern: re(`${WORD_START}(SPIs?) [0-9a-f]{8}${WORD_END}`, 'gu'), replacement: '$1 SPI' },
  { what: 'IPv4 address or subnet', pattern: re(`${WORD_START}(?:${D}{1,3}\\.){3}${D}{1,3}(?:/${D}+)?`, 'gu'), replacement: 'ADDR' },
  // colon groups of up to four lower-case hex digits, empty groups allowed (`fd00::1`, `::/0`)
  { what: 'IPv6 address or subnet', pattern: re(`${BOUNDARY}[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?:/${D}+)?`, 'gu'), replacement: 'ADDR' },
  { what: 'CHILD_SA unique id', pattern: re(`\\{${D}+\\}`, 'gu'), replacement: '{N}' },
  { what: 'IKE_SA unique id or port', pattern: re(`\\[${D}+\\]`, 'gu'), replacement: '[N]' },
  { what: 'duration', pattern: re(`${WORD_START}${D}+(?:\\.${D}+)?s${WORD_END}`, 'gu'), replacement: 'Ns' },
  { what: 'number', pattern: re(`${WORD_START}${D}+${WORD_END}`, 'gu'), replacement: 'N' },
];

/** Keep only the payload kinds of a trailing `[ ... ]` list (drop every `N(...)` notify). */
function payloadKindsOnly(message: string): string {
  const list = PAYLOAD_LIST.exec(message);
  if (!list) return message;
  const kinds = list[1]!.split(SPACE_RUN).filter((p) => p !== '' && !p.startsWith('N('));
  return `${message.slice(0, list.index)}[ ${kinds.map((k) => `${k} `).join('')}]`;
}

/**
 * The shape of one log line, or null when the line does not take part (not a charon line, a group that is not
 * compared, or a configuration / control-interface message).
 */
export function lineShape(line: string, opts: CompareOptions = {}): string | null {
  const m = CHARON_LINE.exec(line.replace(LINE_PREFIX, ''));
  if (!m) return null;
  const group = m[1]!;
  let message = trimSpace(m[2]!);
  if (!COMPARED_GROUPS.has(group) || IGNORED_MESSAGE_STARTS.some((s) => message.startsWith(s))) return null;
  if (!opts.payloads) message = payloadKindsOnly(message);
  for (const p of PLACEHOLDERS) message = message.replace(p.pattern, p.replacement);
  return `[${group}] ${message}`;
}

/** Lines split at \n, \r\n or a lone \r. */
function splitLines(text: string): string[] {
  const lines = text.split(/\r\n|\r|\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Every line of a log that takes part in a comparison, with its shape. */
export function shapeLog(text: string, opts: CompareOptions = {}): ShapedLine[] {
  const out: ShapedLine[] = [];
  splitLines(text).forEach((original, i) => {
    const shape = lineShape(original, opts);
    if (shape !== null) out.push({ line: i + 1, original, shape });
  });
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Pairing in order
// ---------------------------------------------------------------------------------------------------------------

/**
 * Which reference items find a partner in `ours`, order preserved, with as many pairs as possible (a longest
 * common subsequence). Several pairings can reach that maximum; the one chosen walks both lists from the start,
 * pairs equal items at once, and otherwise gives up the current reference item whenever that still allows the
 * maximum, else the current item of `ours`. Returns one flag per reference item.
 */
export function pairInOrder(reference: readonly string[], ours: readonly string[]): boolean[] {
  // equal strings -> equal small integers, so the table fill compares numbers
  const ids = new Map<string, number>();
  const id = (s: string): number => {
    let v = ids.get(s);
    if (v === undefined) ids.set(s, (v = ids.size));
    return v;
  };
  const a = reference.map(id);
  const b = ours.map(id);
  const n = a.length;
  const m = b.length;
  const width = m + 1;
  const cells = (n + 1) * width;
  if (!Number.isSafeInteger(cells) || cells > 2 ** 28) {
    throw new RangeError(`logs too long to compare: ${n} x ${m} lines`);
  }
  // best[i * width + j] = most pairs possible between a[i..] and b[j..]; row n and column m stay 0
  const best = Math.min(n, m) < 0xffff ? new Uint16Array(cells) : new Uint32Array(cells);
  for (let i = n - 1; i >= 0; i--) {
    const row = i * width;
    const below = row + width;
    for (let j = m - 1; j >= 0; j--) {
      best[row + j] = a[i] === b[j] ? best[below + j + 1]! + 1 : Math.max(best[below + j]!, best[row + j + 1]!);
    }
  }
  const paired = new Array<boolean>(n).fill(false);
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      paired[i++] = true;
      j++;
    } else if (best[(i + 1) * width + j]! >= best[i * width + j + 1]!) {
      i++; // dropping this reference item keeps the maximum
    } else {
      j++;
    }
  }
  return paired;
}

// ---------------------------------------------------------------------------------------------------------------
// Comparison and report
// ---------------------------------------------------------------------------------------------------------------

/** Compare two logs (their text). */
export function compareLogs(referenceText: string, oursText: string, opts: CompareOptions = {}): CompareResult {
  const reference = shapeLog(referenceText, opts);
  const ours = shapeLog(oursText, opts);
  const paired = pairInOrder(
    reference.map((l) => l.shape),
    ours.map((l) => l.shape),
  );
  const missing = reference.filter((_, k) => !paired[k]);
  const total = reference.length;
  const matched = total - missing.length;
  return { matched, total, score: total > 0 ? matched / total : 0, missing, complete: total > 0 && matched === total };
}

/**
 * The percentage as a whole number, rounded to nearest with ties to the even neighbour (12.5 -> 12, 37.5 -> 38),
 * the way the original tool printed it.
 */
export function formatPercent(matched: number, total: number): string {
  const value = total > 0 ? (100 * matched) / total : 0;
  const whole = Math.floor(value);
  const rest = value - whole;
  const rounded = rest > 0.5 || (rest === 0.5 && whole % 2 === 1) ? whole + 1 : whole;
  return String(rounded);
}

/** The summary line: `25/27 reference lines matched in order (93%)`. */
export function summaryLine(r: Pick<CompareResult, 'matched' | 'total'>): string {
  return `${r.matched}/${r.total} reference lines matched in order (${formatPercent(r.matched, r.total)}%)`;
}

/**
 * The text report: with `show`, one `missing: <shape>` line per unpaired reference line first; the summary line
 * always last. Same layout as charon-logdiff's output.
 */
export function formatReport(r: CompareResult, opts: { show?: boolean } = {}): string {
  const lines = opts.show ? r.missing.map((l) => `missing: ${l.shape}`) : [];
  lines.push(summaryLine(r));
  return `${lines.join('\n')}\n`;
}
