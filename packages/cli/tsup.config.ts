import { nexusBuild } from "../../tooling/build/tsup.config.js";

// node:sea (`nexus server start` in the standalone binary) exists only under its node: name.
export default nexusBuild({ entry: ["src/index.ts", "src/main.ts"], removeNodeProtocol: false });
