// @nexus/provider-docker public surface.
import { dockerProvider } from "./descriptor.js";

export { dockerProvider, docker } from "./descriptor.js";
export { dockerOptionsSchema, type DockerOptions, type DockerOptionsInput } from "./options.js";
export * from "./image/index.js";
export default dockerProvider;
