// API wire schemas (SPEC §5, §6): zod schemas for every request and response, the
// route registry, and the validators behind them.
export * from "./validation.js";
export * from "./repo-url.js";
export * from "./common.js";
export * from "./health.js";
export * from "./users.js";
export * from "./workspaces.js";
export * from "./events.js";
export * from "./nodes.js";
export * from "./routes.js";
