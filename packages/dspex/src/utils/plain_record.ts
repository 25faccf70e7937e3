// Whether a value is a plain object ({...} or Object.create(null)): the records that Examples, saved state and
// Python replies are made of, as opposed to class instances, which keep their own shape.

/** Whether `value` is a plain object (an object literal or `Object.create(null)`): the values saved state and the wire carry as records. */
export function isPlainRecord(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}
