// The OpenTelemetry GenAI semantic conventions DSPex follows (semconv v1.37.0, status Development): attribute
// and metric names, their units and advised buckets, and how our provider names map onto theirs. One place,
// so a newer version of the conventions is one file to read against the spec.

/** The version of the semantic conventions the spans and metrics follow (recorded as the schema URL). */
export const SEMCONV_VERSION = '1.37.0';
export const SCHEMA_URL = `https://opentelemetry.io/schemas/${SEMCONV_VERSION}`;

export const ATTR = {
  operationName: 'gen_ai.operation.name',
  providerName: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  requestTemperature: 'gen_ai.request.temperature',
  requestMaxTokens: 'gen_ai.request.max_tokens',
  requestTopP: 'gen_ai.request.top_p',
  requestStopSequences: 'gen_ai.request.stop_sequences',
  requestChoiceCount: 'gen_ai.request.choice.count',
  requestSeed: 'gen_ai.request.seed',
  outputType: 'gen_ai.output.type',
  responseId: 'gen_ai.response.id',
  responseModel: 'gen_ai.response.model',
  responseFinishReasons: 'gen_ai.response.finish_reasons',
  usageInputTokens: 'gen_ai.usage.input_tokens',
  usageOutputTokens: 'gen_ai.usage.output_tokens',
  tokenType: 'gen_ai.token.type',
  systemInstructions: 'gen_ai.system_instructions',
  inputMessages: 'gen_ai.input.messages',
  outputMessages: 'gen_ai.output.messages',
  toolName: 'gen_ai.tool.name',
  toolType: 'gen_ai.tool.type',
  toolCallId: 'gen_ai.tool.call.id',
  toolDescription: 'gen_ai.tool.description',
  agentName: 'gen_ai.agent.name',
  errorType: 'error.type',
  serverAddress: 'server.address',
  serverPort: 'server.port',
} as const;

/** gen_ai.operation.name values DSPex emits. */
export const OPERATION = { chat: 'chat', executeTool: 'execute_tool' } as const;

/** Our provider names as the conventions' gen_ai.provider.name well-known values. */
export const PROVIDER_NAMES: Readonly<Record<string, string>> = { openai: 'openai', anthropic: 'anthropic', gemini: 'gcp.gemini' };

export const METRIC = {
  operationDuration: 'gen_ai.client.operation.duration',
  tokenUsage: 'gen_ai.client.token.usage',
} as const;

/** ExplicitBucketBoundaries advised for gen_ai.client.operation.duration (seconds). */
export const DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
/** ExplicitBucketBoundaries advised for gen_ai.client.token.usage. */
export const TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

/** The environment variable the GenAI instrumentations read to record message content (opt-in). */
export const CAPTURE_CONTENT_ENV = 'OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT';
