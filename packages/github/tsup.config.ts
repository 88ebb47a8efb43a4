import { nexusBuild } from "../../tooling/build/tsup.config.js";

// Two public surfaces: the package, and the emulator under @nexus/github/testing.
export default nexusBuild({ entry: { index: "src/index.ts", testing: "src/testing/index.ts" } });
