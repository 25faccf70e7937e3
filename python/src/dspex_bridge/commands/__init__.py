"""Built-in command modules; the worker imports each one (see worker.BUILTIN_COMMAND_MODULES)."""
