// A log file written a line at a time, synchronously, as charon's file logger does (fprintf and fflush under a
// lock): the line is in the file before the datagram it describes is sent, and none is lost when the process exits.
// A failing write (ENOSPC on a full disk, EIO) is reported once on stderr and the file takes no more lines: a log
// file must never throw into IKE, and a line per datagram must not become an error line per datagram.
import { closeSync, openSync, writeSync } from 'node:fs';

export class AppendFile {
  private fd: number | undefined;
  private failed = false;

  /**
   * Opens (creates, appends to) the file now: a path that cannot be written fails at start-up, not at the first
   * line. `what` names it in the stderr report ('log file', 'timeline file').
   */
  constructor(
    readonly path: string,
    private readonly what: string,
    mode?: number,
  ) {
    this.fd = openSync(path, 'a', mode);
  }

  append(text: string): void {
    if (this.fd === undefined || this.failed) return;
    try {
      const bytes = Buffer.from(text);
      // a regular file takes the whole line at once; the loop is for the exception (a signal, a quota)
      for (let at = 0; at < bytes.length; ) at += writeSync(this.fd, bytes, at);
    } catch (e) {
      this.failed = true;
      process.stderr.write(`ikelab: writing the ${this.what} failed, no more lines go to it: ${(e as Error).message}\n`);
    }
  }

  /** Later lines are dropped; closing twice is harmless. */
  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}
