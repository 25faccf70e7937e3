// Python's round(x, ndigits) for floats, so a score reads exactly as DSPy's `round(100 * ncorrect / ntotal, 2)`:
// the exact binary value is rounded to the nearest decimal, and an exact tie goes to the even digit
// (round(12.125, 2) == 12.12, where JS's toFixed gives 12.13).

/** Digits enough to see the whole exact decimal expansion of any double we round (toFixed allows 100). */
const EXACT_DIGITS = 100;

/** Python's round(): round half to even at `ndigits`, as DSPy rounds scores. */
export function pyRound(value: number, ndigits = 0): number {
  if (!Number.isFinite(value) || !Number.isInteger(ndigits) || ndigits < 0 || ndigits > 20) return value;
  const magnitude = Math.abs(value);
  // toFixed falls back to exponential notation from 1e21; such values have no fractional digits to round.
  if (magnitude >= 1e21) return value;
  // toFixed rounds the exact value half away from zero: right except on an exact tie, where Python goes to even.
  const rounded = magnitude.toFixed(ndigits);
  const exact = magnitude.toFixed(EXACT_DIGITS);
  const point = exact.indexOf('.');
  const tail = exact.slice(point + 1 + ndigits);
  let result = Number(rounded);
  if (/^50*$/.test(tail)) {
    const truncated = exact.slice(0, point + 1 + ndigits);
    const lastDigit = Number(truncated.replace('.', '').slice(-1));
    if (lastDigit % 2 === 0) result = Number(truncated);
  }
  return value < 0 || Object.is(value, -0) ? -result : result;
}
