import { z } from "zod";

/** Incus/LXD object names: letters, digits and dashes, not starting with a digit or dash. */
export const INCUS_NAME = /^[A-Za-z][A-Za-z0-9-]{0,62}$/;
/** Local image aliases (`nexus/debian-12`) and remote references (`images:debian/12`). */
export const IMAGE_REFERENCE = /^(?:[a-z][a-z0-9-]*:)?[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$/;

/** Where Incus and LXD put their local socket, in the order we try them. */
export const DEFAULT_SOCKET_PATHS = [
  "/var/lib/incus/unix.socket",
  "/var/lib/lxd/unix.socket",
  "/var/snap/lxd/common/lxd/unix.socket",
] as const;

export const DEFAULT_IMAGE = "nexus/debian-12";
export const DEFAULT_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";

const incusName = (what: string) => z.string().regex(INCUS_NAME, `${what} must be letters, digits and dashes, starting with a letter`);

export const lxcOptionsSchema = z
  .object({
    /** Path of the daemon's unix socket; auto-detected when omitted. */
    socket: z.string().min(1).optional(),
    /** A remote daemon over HTTPS with a client certificate (PEM text or a path to a PEM file). */
    remote: z
      .object({
        url: z.url({ protocol: /^https$/ }),
        cert: z.string().min(1),
        key: z.string().min(1),
        ca: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    project: incusName("project").optional(),
    /** Storage pool of the root disk; default: the default profile's. */
    storagePool: incusName("storagePool").optional(),
    /** Managed bridge the workspace NIC joins; default: the default profile's eth0 network. */
    network: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/, "network must be a bridge name").optional(),
    /** Base image alias, or `remote:alias`. */
    image: z.string().regex(IMAGE_REFERENCE, "image must be an alias like nexus/debian-12 or remote:alias").default(DEFAULT_IMAGE),
    /** The node's CA bundle, appended (minus what the container already trusts) when injectCaBundle is on. */
    caBundle: z.string().min(1).optional(),
    injectCaBundle: z.boolean().default(false),
    /** Port-isolate workspace NICs on the bridge so workspaces cannot reach one another. */
    isolation: z.boolean().default(true),
    /** Seconds a clean stop may take before the container is stopped by force. */
    stopTimeoutSeconds: z.number().int().min(0).max(600).default(10),
  })
  .strict()
  .refine((o) => !(o.socket && o.remote), { message: "give either socket or remote, not both", path: ["remote"] });

export type LxcOptionsInput = z.input<typeof lxcOptionsSchema>;
export type LxcOptions = z.output<typeof lxcOptionsSchema>;
