// Worker for the cross-connection test: opens its own connection to the shared file and
// allocates an SSH port for each workspace id it is given.
import { parentPort, workerData } from "node:worker_threads";
import { openSqliteStore } from "../../src/store/index.js";

const { file, nodeId, workspaceIds, range } = workerData as { file: string; nodeId: string; workspaceIds: string[]; range: [number, number] };
const store = openSqliteStore({ file });
const ports: number[] = [];
for (const id of workspaceIds) ports.push(await store.ports.allocateSsh(nodeId, id, range));
await store.close();
parentPort!.postMessage(ports);
