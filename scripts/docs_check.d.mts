// Types of docs_check.mjs (plain JavaScript so that every package's test/ can import it across its rootDir).

/** Registers one test per entry point (paths relative to `root`) asserting that every name it exports has a doc comment. */
export declare function checkDocComments(root: string, entries: string[]): void;

/** A README's ```ts blocks, each with the line it starts on; a block opened with ```ts fragment is skipped. */
export declare function readmeExamples(readme: string): Array<{ line: number; code: string }>;

/** What `runReadmeExamples` runs, and against what. */
export interface ReadmeExampleOptions {
  /** The package's folder: README.md is read there, examples are written under its test/.readme-examples. */
  root: string;
  /** Import specifiers rewritten to source files, e.g. `{ dspex: 'src/index.ts' }`; paths are relative to `root` or absolute. */
  imports: Record<string, string>;
  /** The fewest runnable blocks the README must have. */
  minExamples: number;
  /** Per-block test timeout (default 20 s). */
  timeoutMs?: number;
}

/** Registers one test per runnable README block: the block is written to a file and imported, so it runs as a program. */
export declare function runReadmeExamples(options: ReadmeExampleOptions): void;
