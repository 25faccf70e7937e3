// Where an LM client sends its requests and with which key, read from the running client: what the Router
// hands to DSPy in a Python pool so both sides use one LM configuration (LocalLM's current port included).
// The key leaves the client process only through here, for that purpose.

import { GenServer, type Caller } from '@dspex/runtime';
import type { LMConfig } from '../primitives/lm.js';
import type { ClientCall } from './lm_client.js';
import { currentApiKey, serverName, type ApiBase, type ClientConfig } from './options.js';
import { unversionedBase, versionedBase } from './providers/api_base.js';
import type { Redactor } from './errors.js';

/** A client's endpoint, resolved now. */
export interface LMEndpoint {
  /** The client's name, and its model string as given ("openai/gpt-4o-mini", "local/smollm2-135m-instruct"). */
  name: string;
  model: string;
  /** The wire format and the model id on the wire. */
  provider: 'openai' | 'anthropic' | 'gemini';
  wireModel: string;
  /** The base with its version segment ("https://api.openai.com/v1"); whether the user (or LocalLM) set it. */
  apiBase: string;
  /** The same base without its version segment ("https://api.anthropic.com"). */
  apiRoot: string;
  customApiBase: boolean;
  apiKey: string | undefined;
  defaults: LMConfig;
  /** Whether the client caches responses (memory or disk); DSPy's cache follows it. */
  cache: boolean;
  /** Whether another read may differ (a function apiBase or apiKey): LocalLM's port, a rotated key. */
  changes: boolean;
}

/** What the client process answers: its configuration, with the functions still unresolved. */
export interface EndpointSource {
  config: ClientConfig;
  redactor: Redactor;
}

/**
 * The endpoint of the running client `name`, with a function apiBase and apiKey called now. NoProcError when no
 * such client runs; LMAuthError when its apiKey function fails.
 */
export async function lmEndpoint(caller: Caller, name: string): Promise<LMEndpoint> {
  const { config, redactor } = await GenServer.call<EndpointSource>(caller, serverName(name), { op: 'endpoint' } satisfies ClientCall, 5000);
  const base: ApiBase = config.apiBase;
  const apiBase = versionedBase(typeof base === 'string' ? base : await base(caller), config.provider.apiVersion);
  return {
    name: config.name,
    model: config.model,
    provider: config.provider.name as LMEndpoint['provider'],
    wireModel: config.wireModel,
    apiBase,
    apiRoot: unversionedBase(apiBase),
    customApiBase: base !== config.provider.defaultApiBase,
    apiKey: await currentApiKey(config, redactor),
    defaults: { ...config.defaults },
    cache: config.memoryCache > 0 || config.diskCache !== undefined,
    changes: typeof base === 'function' || config.apiKeySource !== undefined,
  };
}
