// AdapterParseError: the LM's reply could not be turned into the signature's outputs. The message has DSPy's
// shape (adapter, the response, the fields expected and the fields found) so logs read the same on both sides.

import { DSPexError } from '@dspex/runtime';
import type { Signature } from '../signatures/signature.js';

/** The LM's text does not hold the signature's outputs (missing or unparseable field); `code` DSPEX_ADAPTER_PARSE, the completion attached. */
export class AdapterParseError extends DSPexError {
  readonly code = 'DSPEX_ADAPTER_PARSE';
  readonly adapterName: string;
  readonly signature: Signature;
  readonly lmResponse: string;
  /** The fields that were parsed before the failure, when there were some. */
  readonly parsedResult: Readonly<Record<string, unknown>> | undefined;

  constructor(
    adapterName: string,
    signature: Signature,
    lmResponse: string,
    detail?: string,
    parsedResult?: Readonly<Record<string, unknown>>,
    options?: { cause?: unknown },
  ) {
    let message = detail ? `${detail}\n\n` : '';
    message +=
      `Adapter ${adapterName} failed to parse the LM response. \n\n` +
      `LM Response: ${lmResponse} \n\n` +
      `Expected to find output fields in the LM response: [${signature.outputFields.map((f) => f.name).join(', ')}] \n\n`;
    if (parsedResult !== undefined) message += `Actual output fields parsed from the LM response: [${Object.keys(parsedResult).join(', ')}] \n\n`;
    super(message, options);
    this.adapterName = adapterName;
    this.signature = signature;
    this.lmResponse = lmResponse;
    this.parsedResult = parsedResult;
  }
}

/** An adapter option with a value the adapter does not know; the message lists the accepted values. */
export class AdapterConfigError extends DSPexError {
  readonly code = 'DSPEX_ADAPTER_CONFIG';
}

/** An input value the adapter cannot render (a dspy.History that is not `{ messages: [...] }`); the message says what it needs. */
export class AdapterInputError extends DSPexError {
  readonly code = 'DSPEX_ADAPTER_INPUT';
}
