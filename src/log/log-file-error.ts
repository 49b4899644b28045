// One error for every log file the settings name (daemon.log.file, .json, .timeline) that cannot be opened at start:
// the key, the path and the errno code, so `ikelab start` can report it as a config error on that key's line.
export class LogFileError extends Error {
  constructor(
    readonly key: 'file' | 'json' | 'timeline',
    readonly path: string,
    readonly code: string,
  ) {
    super(`daemon.log.${key}: cannot open ${path} for appending (${code})`);
  }

  /** What a failed open threw, as the error of that key (already one: unchanged). */
  static of(key: LogFileError['key'], path: string, e: unknown): LogFileError {
    if (e instanceof LogFileError) return e;
    return new LogFileError(key, path, (e as NodeJS.ErrnoException).code ?? (e as Error).message);
  }
}
