// Public API of @dspex/orchestration. Only re-exports; see README.md for the guide.
export {};
