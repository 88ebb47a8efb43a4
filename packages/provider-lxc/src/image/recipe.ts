// What goes into the nexus workspace base image, and the hash that names it.
// Everything that changes the image's content is part of the recipe, so the
// cache key changes exactly when the content would.

import { createHash } from "node:crypto";

/** The image reference in both engines: an Incus alias and a Docker repository. */
export const BASE_IMAGE_ALIAS = "nexus/debian-12";

/** Bump when the build steps change in a way the recipe data below doesn't show. */
export const IMAGE_BUILDER_VERSION = 1;

/**
 * Installed by debootstrap itself: only what apt needs to reach an https mirror.
 * debootstrap's own resolver ignores alternatives ("a | b") and virtual packages,
 * so everything else is installed by apt inside the new rootfs.
 */
export const BOOTSTRAP_PACKAGES = ["ca-certificates"] as const;

/** Installed with apt (without recommends) on top of debootstrap's minbase. */
export const BASE_IMAGE_PACKAGES = [
  // what SPEC §6 promises inside every workspace
  "openssh-server",
  "git",
  "curl",
  "ca-certificates",
  "sudo",
  "build-essential",
  "nodejs",
  "npm",
  "python3",
  "python3-venv",
  // init, networking and the basics sshd and interactive shells rely on
  "systemd-sysv",
  "systemd-resolved",
  // networkd leaves links "pending" until udev has seen them when /sys is writable (Incus)
  "udev",
  "iproute2",
  "netbase",
  "procps",
  "less",
  "patch",
  "xz-utils",
] as const;

export interface ImageFile {
  readonly path: string;
  readonly content: string;
  readonly mode: number;
}

/** Files written into the rootfs after debootstrap. */
export const BASE_IMAGE_FILES: readonly ImageFile[] = [
  { path: "/etc/sudoers.d/nexus-dev", content: "dev ALL=(ALL:ALL) NOPASSWD: ALL\n", mode: 0o440 },
  {
    path: "/etc/ssh/sshd_config.d/nexus.conf",
    content: [
      "# nexus workspaces: key-based logins as dev only",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PermitRootLogin no",
      "UseDNS no",
      "# ed25519 and ECDSA only: made in milliseconds at first boot (RSA takes seconds)",
      "HostKey /etc/ssh/ssh_host_ed25519_key",
      "HostKey /etc/ssh/ssh_host_ecdsa_key",
      "",
    ].join("\n"),
    mode: 0o644,
  },
  {
    // Host keys are removed from the image; every container makes its own on
    // first boot, before sshd starts (sshd refuses to start without them).
    path: "/usr/local/sbin/nexus-ssh-hostkeys",
    content: [
      "#!/bin/sh",
      "# Creates this container's SSH host keys if they are missing.",
      "set -e",
      "for type in ed25519 ecdsa; do",
      '  key="/etc/ssh/ssh_host_${type}_key"',
      '  [ -e "$key" ] || ssh-keygen -q -t "$type" -N "" -f "$key"',
      "done",
      "",
    ].join("\n"),
    mode: 0o755,
  },
  {
    path: "/etc/systemd/system/nexus-ssh-hostkeys.service",
    content: [
      "[Unit]",
      "Description=Generate this container's SSH host keys",
      "Before=ssh.service",
      "",
      "[Service]",
      "Type=oneshot",
      "ExecStart=/usr/local/sbin/nexus-ssh-hostkeys",
      "RemainAfterExit=yes",
      "",
      "[Install]",
      "RequiredBy=ssh.service",
      "",
    ].join("\n"),
    mode: 0o644,
  },
  {
    // For engines that run no init (Docker): the container's command.
    path: "/usr/local/sbin/nexus-sshd",
    content: [
      "#!/bin/sh",
      "# Generates missing host keys, then runs sshd in the foreground.",
      "set -e",
      "/usr/local/sbin/nexus-ssh-hostkeys",
      "mkdir -p /run/sshd",
      'exec /usr/sbin/sshd -D -e "$@"',
      "",
    ].join("\n"),
    mode: 0o755,
  },
  {
    path: "/etc/systemd/network/20-eth0.network",
    content: ["[Match]", "Name=eth0", "", "[Network]", "DHCP=ipv4", "", "[DHCPv4]", "UseDomains=true", ""].join("\n"),
    mode: 0o644,
  },
  { path: "/etc/default/locale", content: "LANG=C.UTF-8\n", mode: 0o644 },
  {
    path: "/etc/hosts",
    content: "127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n",
    mode: 0o644,
  },
];

/** Units enabled in the image (resolved by `systemctl enable` inside the rootfs). */
export const BASE_IMAGE_ENABLED_UNITS = ["nexus-ssh-hostkeys.service", "ssh.service", "systemd-networkd.service", "systemd-resolved.service"] as const;

/**
 * Units that a workspace container never needs; masking them shortens boot
 * (SSH reachable sooner) and keeps timers from waking idle workspaces.
 */
export const BASE_IMAGE_MASKED_UNITS = [
  "apt-daily.timer",
  "apt-daily-upgrade.timer",
  "systemd-networkd-wait-online.service",
  "getty@tty1.service",
  "console-getty.service",
] as const;

/** The workspace user (SPEC §6): created in the image, providers still ensure it. */
export const WORKSPACE_USER = { name: "dev", uid: 1000, home: "/home/dev", shell: "/bin/bash" } as const;

/** Incus templates: the instance name becomes the hostname on create and copy. */
export const INCUS_TEMPLATES: readonly { path: string; file: string; content: string }[] = [
  { path: "/etc/hostname", file: "hostname.tpl", content: "{{ instance.name }}\n" },
  {
    path: "/etc/hosts",
    file: "hosts.tpl",
    content: "127.0.0.1\tlocalhost\n127.0.1.1\t{{ instance.name }}\n::1\t\tlocalhost ip6-localhost ip6-loopback\n",
  },
];

export interface BaseImageRecipe {
  readonly builderVersion: number;
  readonly suite: string;
  readonly variant: string;
  /** Debian architecture name (amd64, arm64). */
  readonly architecture: string;
  /** Written into the image's apt sources, so it is part of the content. */
  readonly mirror: string;
  readonly bootstrapPackages: readonly string[];
  readonly packages: readonly string[];
  readonly files: readonly ImageFile[];
  readonly enabledUnits: readonly string[];
  readonly maskedUnits: readonly string[];
  readonly user: typeof WORKSPACE_USER;
  readonly incusTemplates: typeof INCUS_TEMPLATES;
}

const DEBIAN_ARCHITECTURES: Record<string, { debian: string; incus: string }> = {
  x64: { debian: "amd64", incus: "x86_64" },
  arm64: { debian: "arm64", incus: "aarch64" },
};

/** Debian and Incus names of this machine's architecture. */
export function hostArchitecture(nodeArch: string = process.arch): { debian: string; incus: string } {
  const names = DEBIAN_ARCHITECTURES[nodeArch];
  if (!names) throw new Error(`unsupported architecture for the base image: ${nodeArch}`);
  return names;
}

export function baseImageRecipe(input: { mirror: string; architecture?: string }): BaseImageRecipe {
  return {
    builderVersion: IMAGE_BUILDER_VERSION,
    suite: "bookworm",
    variant: "minbase",
    architecture: input.architecture ?? hostArchitecture().debian,
    mirror: input.mirror,
    bootstrapPackages: [...BOOTSTRAP_PACKAGES].sort(),
    packages: [...BASE_IMAGE_PACKAGES].sort(),
    files: BASE_IMAGE_FILES,
    enabledUnits: BASE_IMAGE_ENABLED_UNITS,
    maskedUnits: BASE_IMAGE_MASKED_UNITS,
    user: WORKSPACE_USER,
    incusTemplates: INCUS_TEMPLATES,
  };
}

/** JSON with object keys sorted, so the hash doesn't depend on key order. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** sha256 (hex) of the recipe: the image's cache key and its `nexus.recipe` label. */
export function recipeHash(recipe: BaseImageRecipe): string {
  return createHash("sha256").update(canonicalJson(recipe)).digest("hex");
}
