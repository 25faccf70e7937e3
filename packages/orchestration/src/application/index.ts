// The application tree's public surface (DSPex.start / DSPex.childSpec); src/index.ts re-exports it.
export { DSPex, LOCAL_LM_CLIENT, DSPexStartError, DSPexNotRunning, NoLMConfigured, type DSPexOptions, type DSPexApp, type DSPexHandle } from './application.js';
export { DSPexConfigError, APP_PART_NAMES, type DSPexParts, type DSPexPartsOptions, type AppSessionsOptions, type AppPipelinesOptions } from './parts.js';
