// Errors of the signature engine. Each has a stable `code`; a syntax error also carries the position and a
// rendering of the signature with a caret under the offending character, so the message says what to fix.

import { DSPexError } from '@dspex/runtime';

/** The stable codes of SignatureError. */
export type SignatureErrorCode =
  /** Not exactly one `->` in a string signature. */
  | 'DSPEX_SIGNATURE_ARROW'
  /** A character or token the grammar does not allow there. */
  | 'DSPEX_SIGNATURE_SYNTAX'
  /** A field name that is not a valid identifier (or is a Python keyword, or starts with an underscore). */
  | 'DSPEX_SIGNATURE_BAD_IDENTIFIER'
  /** The same field name twice, on one side or both. */
  | 'DSPEX_SIGNATURE_DUPLICATE_FIELD'
  /** A type name that is neither built in nor registered. */
  | 'DSPEX_SIGNATURE_UNKNOWN_TYPE'
  /** A type used with the wrong arguments (list[int, str], Optional without one). */
  | 'DSPEX_SIGNATURE_TYPE_ARGUMENTS'
  /** An operation on a signature that names a missing field or a bad index. */
  | 'DSPEX_SIGNATURE_FIELD'
  /** A custom type registered twice with different schemas. */
  | 'DSPEX_SIGNATURE_TYPE_CONFLICT';

/** A signature string or field type that cannot be read; `code` says which rule, the message points at the position with a caret. */
export class SignatureError extends DSPexError {
  readonly code: SignatureErrorCode;
  /** Offset in `source` (UTF-16 units) where the problem is; -1 when it is not about a position. */
  readonly position: number;
  readonly source: string;

  constructor(code: SignatureErrorCode, problem: string, source = '', position = -1, options?: { cause?: unknown }) {
    super(position >= 0 ? `${problem} (at position ${position})\n${caretView(source, position)}` : problem, options);
    this.code = code;
    this.position = position;
    this.source = source;
  }
}

/** The line of `source` holding `position`, and a caret under that column. */
export function caretView(source: string, position: number): string {
  const lineStart = source.lastIndexOf('\n', position - 1) + 1;
  const newline = source.indexOf('\n', position);
  const lineEnd = newline < 0 ? source.length : newline;
  const line = source.slice(lineStart, lineEnd);
  // Tabs stay tabs under the line so that the caret lines up in any terminal.
  const pad = line.slice(0, position - lineStart).replace(/[^\t]/g, ' ');
  return `  ${line}\n  ${pad}^`;
}

/** A value that does not fit its field's type (the message mirrors pydantic's wording). */
export class ValueParseError extends DSPexError {
  readonly code = 'DSPEX_VALUE_PARSE';
  constructor(
    message: string,
    readonly issues: readonly ValidationIssue[] = [],
  ) {
    super(message);
  }
}

/** One problem found validating a value against a field's type: where (`path`) and what. */
export interface ValidationIssue {
  /** Where in the value: field name, then keys and indexes. */
  readonly path: readonly (string | number)[];
  /** pydantic's error type: int_parsing, missing, literal_error, ... */
  readonly type: string;
  readonly message: string;
}
