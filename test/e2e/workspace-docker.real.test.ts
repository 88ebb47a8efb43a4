// Server + nexus-agent + Docker, end to end (see helpers/suite.ts).
import { endToEnd } from "./helpers/suite.js";

endToEnd("docker", [24200, 24239]);
