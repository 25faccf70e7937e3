// What an evaluation writes once it is done: DSPy's results table on the output stream (display_table), and
// the results as JSON and CSV files (save_as_json, save_as_csv), each as a flat record per devset item.

import { resultRecords } from './result.js';
import { saveResults } from './save.js';
import { renderTable } from './table.js';
import type { EvaluateOptions, EvaluationRow, OutputStream } from './types.js';

/** Shows and saves `rows` as `options` ask; rejects with the file system's error when a file cannot be written. */
export async function writeResults(rows: readonly EvaluationRow[], metricName: string, output: OutputStream, options: Pick<EvaluateOptions, 'displayTable' | 'saveAsJson' | 'saveAsCsv'>): Promise<void> {
  const { displayTable, saveAsJson, saveAsCsv } = options;
  // Python's `if display_table:`: true or a positive row count (0 shows nothing).
  if (displayTable === true || (typeof displayTable === 'number' && displayTable > 0)) output.write(renderTable(resultRecords(rows, metricName), metricName, displayTable));
  if (saveAsJson !== undefined) await saveResults(saveAsJson, resultRecords(rows, metricName), 'json');
  if (saveAsCsv !== undefined) await saveResults(saveAsCsv, resultRecords(rows, metricName), 'csv');
}
