// The variables subsystem's public surface; src/index.ts re-exports it.
export { variable, MODULE_KINDS, ADAPTER_NAMES, type VariableSpec, type VariableKind, type VariableCommon, type Assignment, type ModuleKind, type AdapterName } from './kinds.js';
export { defineSpace, type SpaceDefinition, type SpaceOptions, type CrossConstraint, type SpaceMigration } from './space.js';
export { Variables, type VariablesOptions, type VariablesHandle, type VariableSpace, type SpaceChange } from './variables.js';
export { namespaceOf as variablesNamespace, type HistoryEntry, type SpaceSnapshot, type SetOptions } from './coordinator.js';
export { bind, BoundProgram, AppliedProgram, ModuleSlot, type BindOptions, type ModuleSlotOptions } from './binding.js';
export { VariableError, VariableDefinitionError, VariableCycleError, VariableValueError, VariableConflictError, VariablesNotRunningError, VariableBindingError, VariableDefinitionMismatchError, VariableStoredValuesError, type VariableIssue } from './errors.js';
