// @nexus/server: the coordination server (fastify), a thin shell over core's services.
export { buildServer, BODY_LIMIT_BYTES, type BuildServerOptions } from "./app.js";
export { buildOpenApiDocument } from "./openapi.js";
export { HttpMetrics } from "./metrics.js";
export { SERVER_VERSION } from "./version.js";
export { openSqliteStore, SqliteStore, type SqliteStoreOptions } from "./store/index.js";
export { startServer, DEFAULT_HOST, DEFAULT_PORT, DEFAULT_AGENT_SSH_PORTS, type RunningServer, type StartServerOptions } from "./start.js";
export { localKeysPath, localTokenPath, readLocalToken, type LocalTokenFile } from "./local-files.js";
