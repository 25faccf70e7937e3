// The stores the session tests run against: @dspex/store's own contract-test backends (SQLite in a fresh temp
// directory, PostgreSQL in a fresh schema, dropped afterwards; the PostgreSQL run is skipped with a message
// without a server, unless DSPEX_REQUIRE_SERVICES=1, as in CI). One fixture serves both packages' suites.

import { BACKENDS } from '../../../store/test/backends.js';

export { POSTGRES_URL } from '../../../store/test/backends.js';

/** One SQLite and one PostgreSQL backend (group commit is the store's own concern, tested there). */
export const STORES = BACKENDS.filter((backend) => !backend.name.endsWith('+group'));
