// The security suite on Incus (see helpers/real.ts).
import { securityOnEngine } from "./helpers/real.js";

securityOnEngine("lxc", [27100, 27119]);
