// One error type for the whole crypto module, with a stable code so callers can map it to a
// notify or a silent drop in one place (RFC 7296 section 2.21: integrity failures are dropped silently).

export type CryptoErrorCode = 'UNSUPPORTED' | 'INVALID_PUBLIC' | 'INTEGRITY' | 'BAD_LENGTH';

export class CryptoError extends Error {
  constructor(
    public code: CryptoErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CryptoError';
  }
}
