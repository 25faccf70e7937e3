// Writing results to disk as DSPy's save_as_json / save_as_csv do: one record per devset item (example
// fields, prediction fields, the score under the metric's name). CSV follows Python's csv module (excel
// dialect, QUOTE_MINIMAL, CRLF rows), with the union of every row's columns so no value is dropped.

import { writeFile } from 'node:fs/promises';
import { pyJsonDumps, pyStr } from '../utils/py_json.js';
import type { ResultRecord } from './result.js';

/** The columns of every record, in the order they are first seen (DSPy takes only the first row's). */
export function csvColumns(records: readonly ResultRecord[]): string[] {
  const columns = new Set<string>();
  for (const record of records) for (const key of Object.keys(record)) columns.add(key);
  return [...columns];
}

/** One cell as Python's csv writes str(value): None is empty, everything else is str(). */
function cellText(value: unknown): string {
  return value === null || value === undefined ? '' : pyStr(value);
}

/** QUOTE_MINIMAL: quoted when it holds the delimiter, a quote or a line break; quotes are doubled. */
export function csvCell(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function csvRow(cells: readonly string[]): string {
  // Python quotes a lone empty field, so that the row is not read back as a blank line.
  if (cells.length === 1 && cells[0] === '') return '""';
  return cells.map(csvCell).join(',');
}

/** Evaluation rows as CSV, as `dspy.Evaluate(save_as_csv=...)` writes them. */
export function toCsv(records: readonly ResultRecord[]): string {
  const columns = csvColumns(records);
  const lines = [csvRow(columns), ...records.map((record) => csvRow(columns.map((column) => cellText(record[column]))))];
  return lines.map((line) => `${line}\r\n`).join('');
}

/** Evaluation rows as JSON, as `dspy.Evaluate(save_as_json=...)` writes them. */
export function toJson(records: readonly ResultRecord[]): string {
  return pyJsonDumps(records);
}

/** Writes evaluation rows to a file as JSON or CSV. */
export async function saveResults(path: string, records: readonly ResultRecord[], format: 'json' | 'csv'): Promise<void> {
  await writeFile(path, format === 'json' ? toJson(records) : toCsv(records), 'utf8');
}
