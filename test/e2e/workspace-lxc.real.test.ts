// Server + nexus-agent + Incus, end to end (see helpers/suite.ts).
import { endToEnd } from "./helpers/suite.js";

endToEnd("lxc", [24100, 24139]);
