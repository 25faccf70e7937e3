// A loopback OpenAI-compatible server whose answers depend on the request: it records every request body, and
// answers `question: "echo <word>"` with <word> only when the temperature is 0 and the system message holds
// KEYWORD ("wrong" otherwise). Every output field named in the system message is filled, in ChatAdapter's
// format, or as a JSON object when the prompt asks for one (JSONAdapter).

import { echoedWord, startFieldServer, type RequestBody } from '../support/field_server.js';

export type { RequestBody } from '../support/field_server.js';

export const KEYWORD = 'VERBATIM';

export interface ScoringLM {
  url: string;
  bodies: RequestBody[];
  close(): Promise<void>;
}

export async function startScoringLM(): Promise<ScoringLM> {
  const bodies: RequestBody[] = [];
  const server = await startFieldServer(({ body, system, user }) => {
    bodies.push(body);
    const right = body.temperature === 0 && system.includes(KEYWORD);
    return (field) => (field === 'answer' ? (right ? echoedWord(user) : 'wrong') : `${field} text`);
  });
  return { ...server, bodies };
}
