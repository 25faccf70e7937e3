// Types of readme_exports.mjs (plain JavaScript so that every package's test/ can import it across its rootDir).

/** The public exports of the package in `dir` (entry points relative to it) that no runnable README block uses. */
export declare function uncoveredExports(dir: string, entries?: string[]): { values: string[]; types: string[] };

/**
 * Registers a test asserting that every public export of `entries` is used by a runnable block of the README,
 * except the names of `exceptions` (name -> why it has no example); an exception that is covered or no longer
 * exported fails too, so the list cannot go stale.
 */
export declare function checkReadmeCoversExports(root: string, entries: string[], exceptions?: Record<string, string>): void;
