// Python's text primitives, reproduced exactly where DSPy's prompt bytes depend on them: str.isspace/strip,
// str.splitlines, inspect.cleandoc, textwrap.dedent, str.title. Adapters and signatures share these so that a
// prompt rendered here is byte-identical to the one DSPy renders.

/** Python's str.isspace() for one UTF-16 code unit (every Python whitespace character is in the BMP). */
export function isPySpace(code: number): boolean {
  if (code <= 0x20) return code === 0x20 || (code >= 0x09 && code <= 0x0d) || (code >= 0x1c && code <= 0x1f);
  if (code < 0x85) return false;
  return (
    code === 0x85 || code === 0xa0 || code === 0x1680 || (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 || code === 0x2029 || code === 0x202f || code === 0x205f || code === 0x3000
  );
}

export function pyStrip(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isPySpace(text.charCodeAt(start))) start++;
  while (end > start && isPySpace(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

export function pyLstrip(text: string): string {
  let start = 0;
  while (start < text.length && isPySpace(text.charCodeAt(start))) start++;
  return start === 0 ? text : text.slice(start);
}

/** True for the characters str.splitlines() breaks on (\r\n counts once; the caller handles the pair). */
function isLineBreak(code: number): boolean {
  return (code >= 0x0a && code <= 0x0d) || (code >= 0x1c && code <= 0x1e) || code === 0x85 || code === 0x2028 || code === 0x2029;
}

/** Python's str.splitlines(): no trailing empty line, and the wider set of line boundaries. */
export function pySplitlines(text: string): string[] {
  const lines: string[] = [];
  let start = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const code = text.charCodeAt(i);
    if (!isLineBreak(code)) {
      i++;
      continue;
    }
    lines.push(text.slice(start, i));
    i += code === 0x0d && text.charCodeAt(i + 1) === 0x0a ? 2 : 1;
    start = i;
  }
  if (start < n) lines.push(text.slice(start));
  return lines;
}

/** Python's str.expandtabs(8). */
export function pyExpandTabs(text: string, tabSize = 8): string {
  if (!text.includes('\t')) return text;
  let out = '';
  let column = 0;
  for (const char of text) {
    if (char === '\t') {
      const spaces = tabSize - (column % tabSize);
      out += ' '.repeat(spaces);
      column += spaces;
    } else {
      out += char;
      column = char === '\n' || char === '\r' ? 0 : column + 1;
    }
  }
  return out;
}

/** inspect.cleandoc: DSPy reads `Signature.instructions` through it. */
export function cleandoc(doc: string): string {
  const lines = pyExpandTabs(doc).split('\n');
  let margin = Number.MAX_SAFE_INTEGER;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const content = pyLstrip(line).length;
    if (content > 0) margin = Math.min(margin, line.length - content);
  }
  lines[0] = pyLstrip(lines[0]!);
  if (margin < Number.MAX_SAFE_INTEGER) for (let i = 1; i < lines.length; i++) lines[i] = lines[i]!.slice(margin);
  let end = lines.length;
  while (end > 0 && lines[end - 1] === '') end--;
  let start = 0;
  while (start < end && lines[start] === '') start++;
  return lines.slice(start, end).join('\n');
}

function leadingBlanks(line: string): number {
  let i = 0;
  while (i < line.length && (line[i] === ' ' || line[i] === '\t')) i++;
  return i;
}

/** textwrap.dedent: whitespace-only lines become empty, then the common space/tab prefix goes. */
export function dedent(text: string): string {
  const lines = text.split('\n');
  let margin: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const blanks = leadingBlanks(line);
    if (blanks === line.length) {
      lines[i] = '';
      continue;
    }
    const indent = line.slice(0, blanks);
    if (margin === null || margin.startsWith(indent)) margin = indent;
    else if (!indent.startsWith(margin)) {
      let common = 0;
      while (common < margin.length && margin[common] === indent[common]) common++;
      margin = margin.slice(0, common);
    }
  }
  if (margin) for (let i = 0; i < lines.length; i++) if (lines[i]!.startsWith(margin)) lines[i] = lines[i]!.slice(margin.length);
  return lines.join('\n');
}

function isCased(char: string): boolean {
  return char.toLowerCase() !== char.toUpperCase();
}

/** Python's str.title(): a cased character after an uncased one is uppercased, the rest lowercased. */
export function pyTitle(text: string): string {
  let out = '';
  let previousCased = false;
  for (const char of text) {
    const cased = isCased(char);
    out += cased ? (previousCased ? char.toLowerCase() : char.toUpperCase()) : char;
    previousCased = cased;
  }
  return out;
}
