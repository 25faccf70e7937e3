// The seeded generator of the random differential test: signatures (every type the parser reads, in several
// spellings), field operations, instructions, demos, inputs and completions, as golden-shaped cases that
// scripts/diff_render.py renders with real DSPy and dspex renders natively. Values travel as tagged JSON.

import { pyFloatRepr, pyStringRepr } from '../../src/utils/py_json.js';

/** A value as both sides must hold it: plain JSON, or tagged where JSON cannot say what Python holds. */
export type Tagged =
  | string | number | boolean | null
  | Tagged[]
  | { $t: 'float'; v: string }
  | { $t: 'tuple' | 'set'; v: Tagged[] }
  | { $t: 'dict'; v: [Tagged, Tagged][] }
  | { [key: string]: Tagged };

export interface DiffCase {
  id: string;
  signature: string;
  instructions?: string;
  ops?: Record<string, unknown>[];
  demos: Record<string, Tagged>[];
  inputs: Record<string, Tagged>;
  chat_completions: string[];
  json_completions: string[];
}

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
export class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    let z = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

type G =
  | { k: 'str' | 'int' | 'float' | 'bool' | 'any' | 'none' }
  | { k: 'list' | 'set'; item: G; bare: boolean }
  | { k: 'dict'; key: G; value: G; bare: boolean }
  | { k: 'tuple'; items: G[]; variadic: boolean; bare: boolean }
  | { k: 'union'; members: G[] }
  | { k: 'literal'; values: { src: string; value: Tagged }[] }
  | { k: 'custom'; name: 'Address' | 'Person' | 'Team' | 'Score' }
  /** A dspy.History input (never nested): its value is built from the signature's other fields. */
  | { k: 'history' };

/** Literal arguments in source form with the value Python reads from them. */
const LITERALS: { src: string; value: Tagged }[] = [
  { src: "'a'", value: 'a' }, { src: '"b c"', value: 'b c' }, { src: "'x\\'y'", value: "x'y" }, { src: `"it's"`, value: "it's" },
  { src: "'\\x41'", value: 'A' }, { src: "'\\101'", value: 'A' }, { src: "'\\U0001F600'", value: '\u{1F600}' }, { src: "'\\a\\b\\f\\v'", value: '\x07\b\f\v' }, { src: "r'a\\b'", value: 'a\\b' }, { src: "'a' 'b'", value: 'ab' }, { src: "'\\u00e9'", value: '\u00e9' },
  { src: "'tab\\tnl\\n'", value: 'tab\tnl\n' }, { src: '1', value: 1 }, { src: '2.5', value: { $t: 'float', v: '2.5' } }, // Literal[1.0] is left out: its JSON schema prints `1` where pydantic prints `1.0` (a listed difference).
  { src: 'True', value: true }, { src: 'None', value: null }, { src: '0', value: 0 }, { src: "'\\q'", value: '\\q' }, { src: "''", value: '' },
];

const NAMES = ['question', 'answer', 'context', 'camelCase', 'HTMLParser', 'text2number', 'x', 'score_1', 'caf\u00e9', '\ufb01eld', 'Nombre', 'data', 'items', 'result', 'r\u00e9sum\u00e9', 'A1b2', '\u2168count'];

const STRINGS = ['hello', '', 'two\nlines', '  padded  ', 'quote "q" and \'s\'', '\u00abguillemets\u00bb', 'caf\u00e9 \u{1F600}', '42', '{"k": 1}', 'tab\there', 'back\\slash', '\u2028sep'];
const MARKED = '<<CUSTOM-TYPE-START-IDENTIFIER>>[{"type": "text", "text": "inside"}]<<CUSTOM-TYPE-END-IDENTIFIER>>';
const FLOATS = ['1.5', '2.0', '-0.0', '0.1', '1e+20', '3.0', '-2.25', '1e-07', 'nan', 'inf', '-inf', '100.0'];
const FRACTIONAL = ['1.5', '0.1', '-2.25', '1e-07', '3.14'];
const INTS = [0, 1, -1, 7, 42, -300, 123456789];
const INSTRUCTIONS: (string | undefined)[] = [undefined, undefined, 'Answer the question.', '', '   ', '\n    Indented first.\n      More indented.\n    Back.\n', 'Line one.\n\n\nLine after blanks.', '\tTabbed\n\tlines', 'Trailing spaces   \n  x  '];

export class CaseGenerator {
  private serial = 0;
  constructor(private readonly rng: Random) {}

  type(depth = 0): G {
    const r = this.rng;
    const leaf = (): G => ({ k: r.pick(['str', 'str', 'int', 'float', 'bool', 'any'] as const) });
    if (depth >= 2 || r.chance(0.45)) return r.chance(0.08) ? { k: 'custom', name: r.pick(['Address', 'Person', 'Team', 'Score'] as const) } : leaf();
    switch (r.int(7)) {
      case 0: return { k: 'list', item: this.type(depth + 1), bare: r.chance(0.1) };
      case 1: return { k: 'set', item: r.chance(0.6) ? { k: 'int' } : this.type(depth + 1), bare: r.chance(0.1) };
      case 2: return { k: 'dict', key: r.chance(0.8) ? { k: 'str' } : { k: 'int' }, value: this.type(depth + 1), bare: r.chance(0.1) };
      case 3: {
        const variadic = r.chance(0.3);
        const count = variadic ? 1 : r.int(4);
        return { k: 'tuple', items: Array.from({ length: count }, () => this.type(depth + 1)), variadic, bare: r.chance(0.08) };
      }
      case 4: {
        const members = [this.type(depth + 1)];
        if (r.chance(0.6)) members.push({ k: 'none' });
        else members.push(this.type(depth + 1));
        if (r.chance(0.2)) members.push(this.type(depth + 1));
        return { k: 'union', members };
      }
      case 5: {
        // Literal[1, 1.0] keeps both in Python (different types); one JS number cannot: a listed difference.
        const values = Array.from({ length: 1 + r.int(3) }, () => r.pick(LITERALS));
        return { k: 'literal', values: values.filter((v) => !(v.src === '1' && values.some((w) => w.src === '1.0'))) };
      }
      default: return leaf();
    }
  }

  /** The type in one of the spellings DSPy accepts. */
  text(g: G): string {
    const r = this.rng;
    switch (g.k) {
      case 'str': case 'int': case 'float': case 'bool': return g.k;
      case 'any': return 'Any';
      case 'none': return 'None';
      // A bare typing.List is refused by DSPy as a field type and prints `list[]` inside Optional: a listed difference.
      case 'list': return g.bare ? 'list' : `${r.pick(['list', 'List'])}[${this.text(g.item)}]`;
      case 'set': return g.bare ? 'set' : `${r.pick(['set', 'Set', 'frozenset'])}[${this.text(g.item)}]`;
      case 'dict': return g.bare ? 'dict' : `${r.pick(['dict', 'Dict'])}[${this.text(g.key)}, ${this.text(g.value)}]`;
      case 'tuple':
        if (g.bare) return 'tuple';
        if (g.items.length === 0) return 'tuple[()]';
        if (g.variadic) return `tuple[${this.text(g.items[0]!)}, ...${r.chance(0.3) ? ',' : ''}]`;
        return `${r.pick(['tuple', 'Tuple'])}[${g.items.map((i) => this.text(i)).join(', ')}${r.chance(0.15) ? ',' : ''}]`;
      case 'union': {
        const [a, b] = g.members;
        if (g.members.length === 2 && b!.k === 'none') return r.pick([`Optional[${this.text(a!)}]`, `${this.text(a!)} | None`, `None | ${this.text(a!)}`, `Union[None, ${this.text(a!)}]`]);
        return r.chance(0.5) ? `Union[${g.members.map((m) => this.text(m)).join(', ')}]` : g.members.map((m) => this.text(m)).join(' | ');
      }
      case 'literal': return `Literal[${g.values.map((v) => v.src).join(', ')}]`;
      case 'custom': return g.name;
      // `History` as after `from dspy import History` (diff_render.py passes it to DSPy as a custom type).
      case 'history': return r.pick(['dspy.History', 'History']);
    }
  }

  float(whole: boolean, inSet = false): Tagged {
    const pool = whole ? FLOATS : FRACTIONAL;
    return { $t: 'float', v: this.rng.pick(inSet ? pool.filter((f) => f !== '-0.0') : pool) };
  }

  /** A value of type g; `ambiguous` when JS cannot tell a whole float from an int at this position. */
  value(g: G, ambiguous = false): Tagged {
    const r = this.rng;
    switch (g.k) {
      case 'str': return r.chance(0.03) ? `before ${MARKED} after` : r.pick(STRINGS);
      case 'int': return r.pick(INTS);
      case 'float': return this.float(!ambiguous);
      case 'bool': return r.chance(0.5);
      case 'none': return null;
      case 'any': return this.anyValue(0);
      case 'list': return Array.from({ length: r.int(4) }, () => this.value(g.bare ? { k: 'any' } : g.item, ambiguous));
      case 'set': {
        // (A JS Set stores -0 as 0, so float sets hold no -0.0 here: a listed difference.)
        if (g.bare || g.item.k === 'int') return { $t: 'set', v: [...new Set(Array.from({ length: r.int(4) }, () => r.int(8)))].sort((a, b) => a - b) };
        // Python orders other sets by hash: one item at most keeps both sides in the same order.
        return { $t: 'set', v: r.chance(0.5) ? [] : [g.item.k === 'float' ? this.float(!ambiguous, true) : this.value(g.item, ambiguous)].filter((v) => typeof v !== 'object' || v === null || (!Array.isArray(v) && v['$t'] === 'float')) };
      }
      case 'dict': {
        const entries: [Tagged, Tagged][] = [];
        const seen = new Set<string>();
        for (let i = r.int(4); i > 0; i--) {
          const key = g.key.k === 'int' ? r.pick(INTS) : r.pick(['b', 'a', '10', '2', 'z', 'key one', '-1', '01']);
          if (seen.has(String(key))) continue;
          seen.add(String(key));
          entries.push([key, this.value(g.bare ? { k: 'any' } : g.value, ambiguous)]);
        }
        return { $t: 'dict', v: entries };
      }
      case 'tuple': {
        if (g.bare) return { $t: 'tuple', v: [r.pick(STRINGS), r.pick(INTS)] };
        if (g.variadic) return { $t: 'tuple', v: Array.from({ length: r.int(4) }, () => this.value(g.items[0]!, ambiguous)) };
        return { $t: 'tuple', v: g.items.map((i) => this.value(i, ambiguous)) };
      }
      case 'union': {
        // JS cannot tell which member a number or an array belongs to when two members could hold it.
        const numeric = g.members.filter((m) => ['int', 'float', 'any', 'bool'].includes(m.k)).length > 1;
        const arrays = g.members.filter((m) => m.k === 'list' || m.k === 'tuple' || m.k === 'any').length > 1;
        // Nor a literal number from a float in the same union (Literal[1] | float holding 1: JS renders 1.0).
        const floaty = g.members.some((m) => m.k === 'float');
        const candidates = floaty ? g.members.filter((m) => !(m.k === 'literal' && m.values.some((v) => typeof v.value === 'number'))) : g.members;
        return this.value(r.pick(candidates), ambiguous || numeric || arrays);
      }
      case 'literal': return r.pick(g.values).value;
      case 'custom': return this.customValue(g.name);
      case 'history': throw new Error('a history value is built by historyValue(), from the signature fields');
    }
  }

  /** Whether a G holds a custom type (whose whole floats JSON cannot tell from ints once inside a History dump). */
  private hasCustom(g: G): boolean {
    switch (g.k) {
      case 'custom': return true;
      case 'list': case 'set': return this.hasCustom(g.item);
      case 'dict': return this.hasCustom(g.value);
      case 'tuple': return g.items.some((i) => this.hasCustom(i));
      case 'union': return g.members.some((m) => this.hasCustom(m));
      default: return false;
    }
  }

  /**
   * A dspy.History value: earlier turns with all, some, only the input or only the output fields, and odd ones
   * (empty, unknown keys, the history field's own name). `dumped`: the value is rendered whole as JSON (a demo's
   * history), where every number is untyped, so floats stay fractional and custom-typed fields are left out.
   */
  historyValue(inputs: [string, G][], outputs: [string, G][], dumped: boolean): Tagged {
    const r = this.rng;
    const plain = (fields: [string, G][]): [string, G][] => fields.filter(([, g]) => g.k !== 'history' && !(dumped && this.hasCustom(g)));
    const fill = (out: Record<string, Tagged>, fields: [string, G][], p: number): void => {
      for (const [name, g] of plain(fields)) if (r.chance(p)) out[name] = g.k === 'str' && r.chance(0.1) ? ['one', 'two\nlines'] : this.value(g, dumped);
    };
    const messages: Tagged[] = [];
    for (let i = r.int(4); i > 0; i--) {
      const message: Record<string, Tagged> = {};
      switch (r.int(6)) {
        case 0: case 1: fill(message, inputs, 0.9); fill(message, outputs, 0.9); break;
        case 2: fill(message, inputs, 1); break;
        case 3: fill(message, outputs, 1); break;
        case 4: fill(message, inputs, 0.5); fill(message, outputs, 0.5); message['unrelated'] = 'ignored'; break;
        default: if (r.chance(0.5)) message['history'] = 'not a field of the turns'; break;
      }
      messages.push(message);
    }
    return { messages };
  }

  anyValue(depth: number): Tagged {
    const r = this.rng;
    switch (r.int(depth > 1 ? 5 : 7)) {
      case 0: return r.pick(STRINGS);
      case 1: return r.pick(INTS);
      case 2: return this.float(false);
      case 3: return r.chance(0.5);
      case 4: return null;
      case 5: return Array.from({ length: r.int(3) }, () => this.anyValue(depth + 1));
      default: return { $t: 'dict', v: Array.from({ length: r.int(3) }, (_, i) => [['k', '1', 'v'][i]!, this.anyValue(depth + 1)] as [Tagged, Tagged]) };
    }
  }

  customValue(name: 'Address' | 'Person' | 'Team' | 'Score'): Tagged {
    const r = this.rng;
    const person = (): Tagged => ({ name: r.pick(STRINGS), age: r.pick(INTS), email: r.chance(0.5) ? null : 'a@b.c' });
    switch (name) {
      case 'Address': return { street: r.pick(STRINGS), city: 'Paris', zip: r.chance(0.5) ? null : '75001' };
      case 'Person': return person();
      case 'Team': return { name: 'core', members: [person()] };
      case 'Score': return { value: this.float(true), label: 'ok' };
    }
  }

  /** Python's json.dumps of a tagged value (what an LM that answers in JSON writes). */
  json(v: Tagged): string {
    if (v === null) return 'null';
    if (typeof v === 'string') return JSON.stringify(v);
    if (typeof v === 'number') return String(v);
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    if (Array.isArray(v)) return `[${v.map((i) => this.json(i)).join(', ')}]`;
    if ('$t' in v && typeof v.$t === 'string') {
      if (v.$t === 'float') return ({ nan: 'NaN', inf: 'Infinity', '-inf': '-Infinity' } as Record<string, string>)[v.v as string] ?? pyFloatRepr(Number(v.v));
      if (v.$t === 'dict') return `{${(v.v as [Tagged, Tagged][]).map(([k, x]) => `${JSON.stringify(String(k))}: ${this.json(x)}`).join(', ')}}`;
      return `[${(v.v as Tagged[]).map((i) => this.json(i)).join(', ')}]`;
    }
    return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${this.json(x)}`).join(', ')}}`;
  }

  /** Python's repr of a tagged value (what an LM that answers in Python literals writes). */
  repr(v: Tagged): string {
    if (v === null) return 'None';
    if (typeof v === 'string') return pyStringRepr(v);
    if (typeof v === 'number') return String(v);
    if (typeof v === 'boolean') return v ? 'True' : 'False';
    if (Array.isArray(v)) return `[${v.map((i) => this.repr(i)).join(', ')}]`;
    if ('$t' in v && typeof v.$t === 'string') {
      if (v.$t === 'float') return ['nan', 'inf', '-inf'].includes(v.v as string) ? `float('${String(v.v)}')` : pyFloatRepr(Number(v.v));
      if (v.$t === 'dict') return `{${(v.v as [Tagged, Tagged][]).map(([k, x]) => `${this.repr(k)}: ${this.repr(x)}`).join(', ')}}`;
      const items = (v.v as Tagged[]).map((i) => this.repr(i));
      if (v.$t === 'tuple') return items.length === 1 ? `(${items[0]},)` : `(${items.join(', ')})`;
      return items.length === 0 ? 'set()' : `{${items.join(', ')}}`;
    }
    return `{${Object.entries(v).map(([k, x]) => `${pyStringRepr(k)}: ${this.repr(x)}`).join(', ')}}`;
  }

  /** The raw text an LM might put under an output header. */
  fieldText(g: G): string {
    const r = this.rng;
    const value = this.value(g);
    switch (r.int(10)) {
      case 0: return this.repr(value);
      case 1: return r.pick(["('x', '')", "{-1: 'x'}", "['a\\x41']", '{[1], [2]}', '[1, 2,]', "{'a': 1,}", 'None', 'yes', '', '```json\n[1, 2]\n```', '1.0', '-0.0', 'NaN', '[NaN]', "('x',)", '{1, 2}', 'True']);
      case 2: return `${this.json(value)} trailing words`;
      default: return typeof value === 'string' ? value : this.json(value);
    }
  }

  chatCompletion(outputs: [string, G][]): string {
    const r = this.rng;
    const parts: string[] = [];
    if (r.chance(0.1)) parts.push('Preamble text.');
    for (const [name, g] of outputs) {
      if (r.chance(0.08)) continue;
      const header = r.chance(0.1) ? `  [[ ## ${name} ## ]]` : `[[ ## ${name} ## ]]`;
      const text = this.fieldText(g);
      parts.push(r.chance(0.1) ? `${header} ${text}` : `${header}\n${text}`);
      if (r.chance(0.05)) parts.push(`[[ ## ${name} ## ]]\nsecond copy`);
    }
    if (r.chance(0.05)) parts.push('[[ ## unknown_field ## ]]\nignored');
    if (r.chance(0.8)) parts.push('[[ ## completed ## ]]');
    return parts.join('\n\n');
  }

  jsonCompletion(outputs: [string, G][]): string {
    const r = this.rng;
    const python = r.chance(0.15);
    const entries = outputs.filter(() => !r.chance(0.08)).map(([name, g]) => {
      const value = this.value(g);
      const text = python ? this.repr(value) : r.chance(0.1) ? JSON.stringify(this.fieldText(g)) : this.json(value);
      return `${python ? pyStringRepr(name) : JSON.stringify(name)}: ${text}`;
    });
    const body = `{${entries.join(', ')}${r.chance(0.05) ? ',' : ''}}`;
    switch (r.int(8)) {
      case 0: return `\`\`\`json\n${body}\n\`\`\``;
      case 1: return `Here it is: ${body} done`;
      case 2: return body.slice(0, Math.max(1, body.length - 1 - r.int(4)));
      default: return body;
    }
  }

  case(id: string): DiffCase {
    const r = this.rng;
    const names = [...NAMES].sort(() => r.next() - 0.5);
    const count = (n: number): number => 1 + r.int(n);
    const inputs = names.slice(0, count(3)).map((name) => [name, this.type()] as [string, G]);
    const outputs = names.slice(inputs.length, inputs.length + count(3)).map((name) => [name, this.type()] as [string, G]);
    if (r.chance(0.25)) inputs.splice(r.int(inputs.length + 1), 0, ['history', { k: 'history' }]);
    const side = (fields: [string, G][]): string => fields.map(([name, g]) => (g.k === 'str' && r.chance(0.5) ? name : `${name}: ${this.text(g)}`)).join(', ');
    const c: DiffCase = { id, signature: `${side(inputs)} -> ${side(outputs)}`, demos: [], inputs: {}, chat_completions: [], json_completions: [] };
    const instructions = r.pick(INSTRUCTIONS);
    if (instructions !== undefined) c.instructions = instructions;
    const ops: Record<string, unknown>[] = [];
    for (let i = r.int(3); i > 0; i--) ops.push(this.op(inputs, outputs));
    if (ops.length > 0) c.ops = ops;
    const typed = new Map([...inputs, ...outputs]);
    const record = (fields: [string, G][], p: number, demo: boolean): Record<string, Tagged> => {
      const out: Record<string, Tagged> = {};
      for (const [name, g] of fields) {
        if (!typed.has(name) || r.chance(p)) continue;
        out[name] = g.k === 'history' ? this.historyValue(inputs, outputs, demo) : g.k === 'str' && r.chance(0.1) ? ['one', 'two\nlines'] : this.value(g);
      }
      return out;
    };
    for (let i = r.int(3); i > 0; i--) c.demos.push({ ...record(inputs, 0.2, true), ...record(outputs, 0.2, true) });
    c.inputs = record(inputs, 0.05, false);
    const live = outputs.filter(([name]) => typed.has(name));
    for (let i = 0; i < 3; i++) c.chat_completions.push(this.chatCompletion(live));
    for (let i = 0; i < 2; i++) c.json_completions.push(this.jsonCompletion(live));
    return c;
  }

  op(inputs: [string, G][], outputs: [string, G][]): Record<string, unknown> {
    const r = this.rng;
    const all = [...inputs, ...outputs];
    switch (r.int(6)) {
      case 0: return { op: 'update', name: r.pick(all)[0], ...(r.chance(0.7) ? { desc: r.pick(['short answer', 'A  desc\nwith lines', '']) } : {}), ...(r.chance(0.3) ? { prefix: 'Custom:' } : {}) };
      case 1: return { op: 'prepend', name: `reasoning${this.serial++}`, role: 'output', desc: '${reasoning}', prefix: "Reasoning: Let's think step by step in order to" };
      case 2: return { op: r.pick(['append', 'prepend']), name: `extra_in${this.serial++}`, role: 'input', ...(r.chance(0.5) ? { type: this.text(this.type(1)) } : {}) };
      case 3: return { op: 'insert', index: r.pick([0, -1, 1]), name: `extra_out${this.serial++}`, role: 'output', ...(r.chance(0.5) ? { type: this.text(this.type(1)) } : {}) };
      case 4: return { op: r.pick(['with_instructions', 'append_instructions']), text: r.pick(['  New text.\n  second', 'More.', '', '\n\tTabbed']) };
      default: return { op: 'delete', name: r.pick(all)[0] };
    }
  }
}
