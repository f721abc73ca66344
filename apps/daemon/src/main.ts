// The daemon's entry point (composition root); written in apps/daemon/src/main.ts.
export {};
