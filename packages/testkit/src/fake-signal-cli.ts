// Fake signal-cli entry point.
export {};
