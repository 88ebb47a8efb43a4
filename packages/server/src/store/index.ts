export { openSqliteStore, SqliteStore, type SqliteStoreOptions } from "./sqlite.js";
export { MIGRATIONS, runMigrations, type Migration } from "./migrations.js";
