// Where a provider's endpoints live under `apiBase`. A base given with its version segment (`.../v1`,
// `.../v1beta`), without it (the host root, or a proxy's prefix) or with the endpoint too (`.../v1/messages`)
// reaches the same URL, with or without a trailing slash, for every provider: the provider's own version is
// added only when the base ends in none.

/** A last path segment that is an API version: v1, v2, v1beta, v1alpha2, ... */
const VERSION_SEGMENT = /\/v\d+(?:(?:alpha|beta)\d*)?$/;
/**
 * A provider's endpoint after a version segment, as LiteLLM-style settings give the base (`.../v1/messages`,
 * `.../v1/chat/completions`, `.../v1beta/models/gemini-2.0-flash:generateContent`): dropped, so the endpoint
 * is not added a second time.
 */
const ENDPOINT_AFTER_VERSION = /(\/v\d+(?:(?:alpha|beta)\d*)?)\/(?:chat\/completions|messages|models(?:\/[^/]*)?)$/;

// Built on every attempt from the same few bases (LocalLM's moves with its port): memoized, and bounded.
const bases = new Map<string, string>();

/** `apiBase` without trailing slashes, ending in a version segment: its own, else `version` appended. */
export function versionedBase(apiBase: string, version: string): string {
  const key = `${version} ${apiBase}`;
  let base = bases.get(key);
  if (base === undefined) {
    const trimmed = apiBase.replace(/\/+$/, '').replace(ENDPOINT_AFTER_VERSION, '$1');
    base = VERSION_SEGMENT.test(trimmed) ? trimmed : `${trimmed}/${version}`;
    if (bases.size >= 256) bases.clear();
    bases.set(key, base);
  }
  return base;
}

/** The base as given minus its version segment and trailing slashes (what LiteLLM wants for some providers). */
export function unversionedBase(apiBase: string): string {
  return apiBase.replace(/\/+$/, '').replace(ENDPOINT_AFTER_VERSION, '$1').replace(VERSION_SEGMENT, '');
}
