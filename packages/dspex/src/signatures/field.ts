// Fields of a signature: InputField / OutputField definitions as DSPy writes them, and the finished FieldSpec
// with DSPy's defaults filled in: prefix inferred from the name ("snake_case" -> "Snake Case:"), desc "${name}".

import type { JsonValue } from '../utils/py_json.js';
import type { TypeExpr } from './types.js';

/** Whether a field is an input or an output of a signature. */
export type FieldRole = 'input' | 'output';

/** A finished field: immutable, every default applied. */
export interface FieldSpec {
  readonly name: string;
  readonly role: FieldRole;
  readonly type: TypeExpr;
  /** False when no type was given (DSPy's IS_TYPE_UNDEFINED); the type is then str. */
  readonly typeDeclared: boolean;
  readonly desc: string;
  readonly prefix: string;
  /** DSPy's "Constraints: ..." line under the field description (from pydantic constraints). */
  readonly constraints?: string;
  /** Used when the LM leaves the output out (DSPy's OutputField(default=...)). */
  readonly default?: JsonValue;
}

/** What a field may carry besides its name: description, prompt prefix, type and JSON-schema extras. */
export interface FieldOptions {
  desc?: string;
  prefix?: string;
  /** A TypeExpr or a type annotation in signature syntax ("list[str]"). */
  type?: TypeExpr | string;
  constraints?: string;
  default?: JsonValue;
}

/** A field as InputField/OutputField return it: its options plus its role. */
export interface FieldDefinition extends FieldOptions {
  readonly role: FieldRole;
}

/** DSPy's `InputField(desc=..., prefix=...)`: an input field definition for a class-style signature. */
export function InputField(options: FieldOptions = {}): FieldDefinition {
  return { ...options, role: 'input' };
}

/** DSPy's `OutputField(desc=..., prefix=...)`: an output field definition for a class-style signature. */
export function OutputField(options: FieldOptions = {}): FieldDefinition {
  return { ...options, role: 'output' };
}

const isUpper = (c: number): boolean => c >= 0x41 && c <= 0x5a;
const isLower = (c: number): boolean => c >= 0x61 && c <= 0x7a;
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isAlpha = (c: number): boolean => isUpper(c) || isLower(c);

/** re.sub(pattern, r"\1_\2", text) for the two-character patterns of infer_prefix, non-overlapping. */
function splitPairs(text: string, first: (c: number) => boolean, second: (c: number) => boolean): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (i + 1 < text.length && first(c) && second(text.charCodeAt(i + 1))) {
      out += `${text[i]}_${text[i + 1]}`;
      i += 2;
    } else {
      out += text[i];
      i++;
    }
  }
  return out;
}

function isPyUpper(word: string): boolean {
  return word !== word.toLowerCase() && word === word.toUpperCase();
}

/** re.sub("(.)([A-Z][a-z]+)", r"\1_\2", text): a capitalised word after any character gets an underscore. */
function splitCapitalisedWords(name: string): string {
  let out = '';
  let i = 0;
  while (i < name.length) {
    if (i + 2 < name.length && name[i] !== '\n' && isUpper(name.charCodeAt(i + 1)) && isLower(name.charCodeAt(i + 2))) {
      let j = i + 3;
      while (j < name.length && isLower(name.charCodeAt(j))) j++;
      out += `${name[i]}_${name.slice(i + 1, j)}`;
      i = j;
    } else {
      out += name[i];
      i++;
    }
  }
  return out;
}

/**
 * DSPy's infer_prefix: "camelCaseText" -> "Camel Case Text", "text2number" -> "Text 2 Number", "HTMLParser" ->
 * "HTML Parser". The regular-expression steps of the original, written as scans; the steps a name cannot
 * match (no capitals, no digits) are skipped.
 */
export function inferPrefix(name: string): string {
  let upper = false;
  let digit = false;
  let ascii = true;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (isUpper(c)) upper = true;
    else if (isDigit(c)) digit = true;
    else if (c >= 0x80) ascii = false;
  }
  let s = name;
  if (upper) s = splitPairs(splitCapitalisedWords(s), (c) => isLower(c) || isDigit(c), isUpper);
  if (digit) s = splitPairs(splitPairs(s, isAlpha, isDigit), isDigit, isAlpha);
  let out = '';
  let start = 0;
  for (let i = 0; i <= s.length; i++) {
    if (i < s.length && s.charCodeAt(i) !== 0x5f) continue;
    const word = s.slice(start, i);
    if (start > 0) out += ' ';
    if (ascii && !upper) out += word.length === 0 ? '' : word[0]!.toUpperCase() + word.slice(1);
    else out += isPyUpper(word) ? word : word.charAt(0).toUpperCase() + word.slice(1).toLowerCase();
    start = i + 1;
  }
  return out;
}

/** A finished field from a definition; `type` is already resolved. */
export function makeField(name: string, role: FieldRole, type: TypeExpr, typeDeclared: boolean, options?: FieldOptions): FieldSpec {
  const spec: { -readonly [K in keyof FieldSpec]: FieldSpec[K] } = {
    name,
    role,
    type,
    typeDeclared,
    desc: options?.desc ?? `\${${name}}`,
    prefix: options?.prefix ?? `${inferPrefix(name)}:`,
  };
  if (options !== undefined) {
    if (options.constraints !== undefined && options.constraints !== '') spec.constraints = options.constraints;
    if (options.default !== undefined) spec.default = options.default;
  }
  return Object.freeze(spec);
}

/** DSPy's _default_instructions. */
export function defaultInstructions(inputs: readonly { name: string }[], outputs: readonly { name: string }[]): string {
  let text = 'Given the fields ';
  for (let i = 0; i < inputs.length; i++) text += i === 0 ? `\`${inputs[i]!.name}\`` : `, \`${inputs[i]!.name}\``;
  text += ', produce the fields ';
  for (let i = 0; i < outputs.length; i++) text += i === 0 ? `\`${outputs[i]!.name}\`` : `, \`${outputs[i]!.name}\``;
  return `${text}.`;
}
