// The results table DSPy prints with display_table: one row per devset item (example fields, prediction
// fields, the score as "✔️ [0.500]"), each cell cut to 25 words as DSPy's truncate_cell does and then to a
// column width so that a terminal line stays readable; a number limits the rows shown.

import { pyStr } from '../utils/py_json.js';
import type { ResultRecord } from './result.js';
import { csvColumns } from './save.js';

export interface TableOptions {
  /** Widest a column may be, in characters (default 40). */
  maxColumnWidth?: number;
}

/** DSPy's truncate_cell: more than 25 words become the first 25 and "...". */
export function truncateCell(content: unknown): string {
  const text = content === null || content === undefined ? '' : pyStr(content);
  const words = text.split(/\s+/).filter((word) => word !== '');
  return words.length > 25 ? `${words.slice(0, 25).join(' ')}...` : text;
}

/** DSPy's stylize_metric_name: "✔️ [0.500]" for a fractional score, "✔️ [1]" for an integral one. */
export function formatScore(score: unknown): string {
  if (typeof score === 'number') return `✔️ [${Number.isInteger(score) ? String(score) : score.toFixed(3)}]`;
  if (score === null || score === undefined) return '';
  return `✔️ [${pyStr(score)}]`;
}

function fit(text: string, width: number): string {
  const flat = text.replace(/\s*[\r\n]+\s*/g, ' ');
  const chars = [...flat];
  return chars.length > width ? `${chars.slice(0, Math.max(1, width - 1)).join('')}…` : flat;
}

function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - [...text].length));
}

/** The table as text; `displayTable` true shows every row, a number the first n and a line for the rest. */
export function renderTable(records: readonly ResultRecord[], metricName: string, displayTable: boolean | number, options: TableOptions = {}): string {
  const maxWidth = Math.max(4, options.maxColumnWidth ?? 40);
  const limit = displayTable === true ? records.length : Math.max(0, Math.floor(Number(displayTable)));
  const shown = records.slice(0, limit);
  const columns = csvColumns(records);
  const cells = shown.map((record, i) => [String(i), ...columns.map((c) => fit(c === metricName ? formatScore(record[c]) : truncateCell(record[c]), maxWidth))]);
  const header = ['', ...columns.map((c) => fit(c, maxWidth))];
  const widths = header.map((h, col) => Math.max([...h].length, ...cells.map((row) => [...row[col]!].length)));
  const line = (row: readonly string[]): string => row.map((cell, col) => pad(cell, widths[col]!)).join(' | ').trimEnd();
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('-+-'), ...cells.map(line)];
  const hidden = records.length - shown.length;
  if (hidden > 0) out.push(`... ${hidden} more rows not displayed ...`);
  return `${out.join('\n')}\n`;
}
