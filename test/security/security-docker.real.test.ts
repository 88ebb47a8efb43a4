// The security suite on Docker (see helpers/real.ts).
import { securityOnEngine } from "./helpers/real.js";

securityOnEngine("docker", [27200, 27219]);
