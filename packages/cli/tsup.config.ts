import { nexusBuild } from "../../tooling/build/tsup.config.js";

export default nexusBuild({ entry: ["src/index.ts", "src/main.ts"] });
