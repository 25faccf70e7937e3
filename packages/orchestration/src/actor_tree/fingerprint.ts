// Definitions compared by structure: what an actor of a tree (a variable space, a learner) was started with,
// flattened to `path -> text`, so a handle with another definition under the same key is refused and the
// refusal can say which paths differ. Functions count by their source text, so the same code run twice (a
// factory called again, a restarted process) gives the same fingerprint; native and bound functions, whose
// text says nothing, count by identity.

/** A definition flattened: each leaf's path (`variables.temperature.max`) and its text, in a canonical order. */
export interface Fingerprint {
  /** Every `path=text` line joined: equal texts, equal definitions. */
  readonly text: string;
  readonly shape: ReadonlyMap<string, string>;
}

const functionIds = new WeakMap<object, number>();
let nextFunctionId = 1;

function functionText(fn: (...args: never[]) => unknown): string {
  const source = Function.prototype.toString.call(fn);
  if (!source.includes('[native code]')) return `function ${source}`;
  let id = functionIds.get(fn);
  if (id === undefined) functionIds.set(fn, (id = nextFunctionId++));
  return `function #${id} (native or bound: compared by identity)`;
}

function leafText(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return Object.is(value, -0) ? '0' : String(value);
  return String(value);
}

function flatten(value: unknown, path: string, out: Map<string, string>, seen: Set<object>): void {
  if (value === undefined) return; // an absent option and an undefined one are the same definition
  if (typeof value === 'function') {
    out.set(path, functionText(value as (...args: never[]) => unknown));
    return;
  }
  if (value === null || typeof value !== 'object') {
    out.set(path, leafText(value));
    return;
  }
  if (seen.has(value)) {
    out.set(path, '[cycle]');
    return;
  }
  seen.add(value);
  if (Array.isArray(value)) {
    out.set(path, `list of ${value.length}`);
    value.forEach((item, i) => flatten(item, `${path}[${i}]`, out, seen));
  } else {
    const keys = Object.keys(value).sort();
    if (keys.length === 0) out.set(path, '{}');
    for (const key of keys) flatten((value as Record<string, unknown>)[key], path === '' ? key : `${path}.${key}`, out, seen);
  }
  seen.delete(value);
}

/** The fingerprint of a definition's structure (plain data and functions; record keys in sorted order). */
export function fingerprintOf(structure: object): Fingerprint {
  const shape = new Map<string, string>();
  flatten(structure, '', shape, new Set());
  return { text: [...shape].map(([path, text]) => `${path}=${text}`).join('\n'), shape };
}

/** Whether `value` is a Fingerprint (what a tree's Registry holds as an actor's value). */
export function isFingerprint(value: unknown): value is Fingerprint {
  return value !== null && typeof value === 'object' && typeof (value as Fingerprint).text === 'string' && (value as Fingerprint).shape instanceof Map;
}

const shown = (text: string | undefined): string => {
  if (text === undefined) return 'absent';
  if (text.startsWith('function ')) return 'a function';
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

/** What differs between two fingerprints, one sentence per path (at most `limit`, then how many more). */
export function differences(running: Fingerprint, given: Fingerprint, limit = 5): string[] {
  const paths = [...new Set([...running.shape.keys(), ...given.shape.keys()])].filter((p) => running.shape.get(p) !== given.shape.get(p));
  const lines = paths.slice(0, limit).map((path) => {
    const [a, b] = [running.shape.get(path), given.shape.get(path)];
    const what = path === '' ? 'the definition' : path;
    if (a?.startsWith('function ') && b?.startsWith('function ')) return `${what} is another function (its source text differs)`;
    return `${what} is ${shown(a)} in the running one, ${shown(b)} in this one`;
  });
  if (paths.length > limit) lines.push(`and ${paths.length - limit} more`);
  return lines;
}
