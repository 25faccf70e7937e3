// The module layer's warnings (DSPy's logger.warning calls): extra or missing inputs, version mismatches on
// load, a trajectory that ended early. They go out as Node process warnings with a stable code, so an
// application can route them (process.on('warning')) and a test can wait for one.

/** The stable codes of the module layer's warnings (extra or missing inputs, version mismatches on load, a trajectory ended early). */
export type ModuleWarningCode =
  | 'DSPEX_INPUT_EXTRA_FIELDS'
  | 'DSPEX_INPUT_MISSING_FIELDS'
  | 'DSPEX_STATE_VERSION_MISMATCH'
  | 'DSPEX_LM_STATE_NOT_RESTORED'
  | 'DSPEX_REACT_TRAJECTORY_ENDED'
  | 'DSPEX_REACT_TRAJECTORY_TRUNCATED';

/** The `type` of the Node process warnings the module layer emits (`process.on('warning')`). */
export const MODULE_WARNING_TYPE = 'DSPexWarning';

export function warn(code: ModuleWarningCode, message: string): void {
  process.emitWarning(message, { type: MODULE_WARNING_TYPE, code });
}
