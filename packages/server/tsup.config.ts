import { nexusBuild } from "../../tooling/build/tsup.config.js";

// node:sqlite exists only under its node: name, so the prefix must survive bundling.
export default nexusBuild({ entry: ["src/index.ts", "src/main.ts"], removeNodeProtocol: false });
