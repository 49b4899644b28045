// Where the test data lives: test/fixtures/ inside the repository, found from this file's own location so that
// every checkout (CI's fresh clone, a user's clone) reads the same files and nothing outside the repository.
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** test/fixtures/ (see its README.md for what each folder holds and where it came from). */
export const FIXTURES_DIR = fileURLToPath(new URL('../fixtures/', import.meta.url));
/** Real charon <-> charon runs at filelog level 1, one folder per scenario (NOTES.md). */
export const REFERENCE_LOGS_DIR = join(FIXTURES_DIR, 'charon-logs');
/** Real charon <-> charon runs at level 4 with every secret dumped, one folder per suite (README.md). */
export const KAT_DIR = join(FIXTURES_DIR, 'kat');
