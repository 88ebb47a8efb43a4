import { nexusBuild } from "../../tooling/build/tsup.config.js";

export default nexusBuild();
