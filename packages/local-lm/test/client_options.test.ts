// The options LocalLM hands to dspex's LM clients (no model needed): the grammar capability (moved from
// dspex's structured_outputs tests with the embedded model) and a base URL asked before each attempt.

import { describe, expect, it } from 'vitest';
import { LOCAL_MODEL_ID, LocalLM } from '../src/index.js';

describe('LocalLM.clientOptions', () => {
  it('the embedded model declares grammar: its client options carry it', () => {
    expect(LocalLM.clientOptions().structuredOutputs).toBe('grammar');
  });

  it('names the client after the server and asks the server for its base URL', () => {
    const options = LocalLM.clientOptions('Mine');
    expect(options).toMatchObject({ name: 'Mine', model: LOCAL_MODEL_ID, breaker: false });
    expect(typeof options.apiBase).toBe('function');
  });
});
