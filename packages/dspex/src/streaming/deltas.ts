// Collects a chunk's text per field, so a feed() gives at most one delta per field (a cache hit, fed whole,
// gives each field as one delta), in the order the fields were written.

import type { FieldDelta } from './events.js';

export class DeltaBatch {
  private readonly deltas: FieldDelta[] = [];

  add(field: string, text: string): void {
    if (text === '') return;
    const last = this.deltas[this.deltas.length - 1];
    if (last !== undefined && last.field === field) last.delta += text;
    else this.deltas.push({ field, delta: text });
  }

  take(): FieldDelta[] {
    return this.deltas.splice(0, this.deltas.length);
  }
}
