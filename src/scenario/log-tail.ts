// `peer-log` expectations read the peer's log file as it grows (strongSwan's charon.log beside a scenario run).
import { open, stat } from 'node:fs/promises';

/** Follows a log file from its size at start: complete lines appended since, re-read from 0 if it was truncated. */
export class LogTail {
  readonly lines: string[] = [];
  error?: string;
  private offset = 0;
  private partial = '';
  private timer?: NodeJS.Timeout;
  private reading = false;

  constructor(
    readonly path: string,
    private readonly onLine: () => void,
  ) {}

  async start(pollMs: number): Promise<void> {
    try {
      this.offset = (await stat(this.path)).size;
    } catch (e) {
      // not there yet (the peer starts after us): everything it will hold is new
      this.error = `cannot read ${this.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
    }
    this.timer = setInterval(() => void this.poll(), pollMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async poll(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      const size = (await stat(this.path)).size;
      this.error = undefined;
      if (size < this.offset) {
        this.offset = 0; // rotated or truncated
        this.partial = '';
      }
      if (size === this.offset) return;
      const fh = await open(this.path, 'r');
      try {
        const buf = Buffer.alloc(Math.min(size - this.offset, 4 << 20));
        const { bytesRead } = await fh.read(buf, 0, buf.length, this.offset);
        this.offset += bytesRead;
        const text = this.partial + buf.subarray(0, bytesRead).toString('utf8');
        const parts = text.split('\n');
        this.partial = parts.pop() ?? '';
        if (parts.length) {
          this.lines.push(...parts);
          this.onLine();
        }
      } finally {
        await fh.close();
      }
    } catch (e) {
      this.error = `cannot read ${this.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
    } finally {
      this.reading = false;
    }
  }
}
