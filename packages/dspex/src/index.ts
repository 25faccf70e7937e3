// Public API of dspex. Only re-exports.
export { Signature, ensureSignature, type SignatureOptions, type SignatureState, type SignatureJSON, type FieldUpdate } from './signatures/signature.js';
export { InputField, OutputField, inferPrefix, type FieldSpec, type FieldOptions, type FieldDefinition, type FieldRole } from './signatures/field.js';
export { SignatureBuilder, signatureBuilder } from './signatures/builder.js';
export { t, typeEquals, typeSyntax, annotationName, allowsNone, type TypeExpr, type TypeKind, type LiteralValue, type TypeConstructors } from './signatures/types.js';
export { TypeRegistry, defaultTypeRegistry, registerType, type CustomType, type JsonSchema } from './signatures/registry.js';
export { SignatureError, ValueParseError, type SignatureErrorCode, type ValidationIssue } from './signatures/errors.js';
export { compileSignature, CompiledSignature, type CompiledField, type ValidationResult, type ResponseFormat } from './signatures/compiler.js';
export { typeSchema, promptSchema, strictJsonSchema, type SchemaObject } from './signatures/json_schema.js';
export { SignatureEngine, SignatureEngineStartError, type SignatureEngineOptions, type BatchValidation, type RenderRequest, type ValidationScope, type AdapterKind } from './signatures/engine.js';
export { Adapter, type Demo, type Inputs, type Outputs, type AdapterCallOptions } from './adapters/base.js';
export { ChatAdapter, type ChatAdapterOptions } from './adapters/chat_adapter.js';
export { JSONAdapter, type JSONAdapterOptions } from './adapters/json_adapter.js';
export { AdapterParseError } from './adapters/errors.js';
export { neutraliseMarkers } from './adapters/format.js';
export { repairJson } from './utils/json_repair.js';
