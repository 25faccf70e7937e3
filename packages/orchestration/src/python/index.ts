// Python interop's public surface: DSPy programs living in a Python pool, and the Python-backed optimizers
// (MIPROv2, GEPA, COPRO, any dspy.teleprompt class). src/index.ts re-exports it.
export { PythonProgram, pythonProgram, setupPythonProgram, predictionFromPython, type PythonSession, type PythonProgramOptions } from './python_program.js';
export { PythonOptimizer, MIPROv2, GEPA, COPRO, type PythonOptimizerOptions, type BuiltinMetric } from './python_optimizer.js';
// `OptimizeProgress` is exported as PythonOptimizeProgress: `optimize()` over variables (src/optimize) has its own.
export { OptimizationRun, type OptimizeProgress as PythonOptimizeProgress } from './optimization_run.js';
export { pythonTwin, stateForPython, type PythonClassSpec } from './python_twin.js';
