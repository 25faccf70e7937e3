// A loopback OpenAI-compatible server for the proposer tests, whose answers depend on what the prompt holds.
// Task prompts (`question: "echo <word>"`) are answered with <word> only when `right(prompt)` says so ("wrong"
// otherwise). DSPy's instruction-proposer prompts (those asking for `proposed_instruction`) get the next of
// `proposals`, in order; any other field DSPy's proposer asks for (observations, summary) gets filler text.

import { echoedWord, startFieldServer } from '../support/field_server.js';

export interface Prompt {
  system: string;
  messages: Array<{ role: string; content: string }>;
}

export interface TaskLM {
  url: string;
  /** Every prompt, in arrival order. */
  prompts: Prompt[];
  /** Task prompts only (those with a question). */
  taskPrompts(): Prompt[];
  /** Proposer prompts only. */
  proposerPrompts(): Prompt[];
  close(): Promise<void>;
}

const isProposer = (p: Prompt): boolean => p.system.includes('`proposed_instruction`');
const isTask = (p: Prompt): boolean => !isProposer(p) && p.system.includes('`question`') && p.system.includes('`answer`');

export async function startTaskLM(options: { right: (prompt: Prompt) => boolean; proposals?: readonly string[] }): Promise<TaskLM> {
  const prompts: Prompt[] = [];
  let proposed = 0;
  const server = await startFieldServer(({ body, system, user }) => {
    const prompt = { system, messages: body.messages };
    prompts.push(prompt);
    const proposals = options.proposals ?? [];
    const proposal = isProposer(prompt) ? proposals[proposed++ % Math.max(1, proposals.length)] ?? 'No proposal.' : '';
    return (field) => {
      if (field === 'proposed_instruction') return proposal;
      if (field === 'answer') return options.right(prompt) ? echoedWord(user) : 'wrong';
      return `${field} text`;
    };
  });
  return {
    ...server,
    prompts,
    taskPrompts: () => prompts.filter(isTask),
    proposerPrompts: () => prompts.filter(isProposer),
  };
}
