import t from "tap";
import {
  BASE_IMAGE_ALIAS,
  BASE_IMAGE_PACKAGES,
  baseImageRecipe,
  hostArchitecture,
  recipeHash,
  type BaseImageRecipe,
} from "../../src/image/recipe.js";

const MIRROR = "http://deb.debian.org/debian";

t.test("the recipe hash is stable for the same recipe", async (t) => {
  const a = recipeHash(baseImageRecipe({ mirror: MIRROR, architecture: "amd64" }));
  const b = recipeHash(baseImageRecipe({ mirror: MIRROR, architecture: "amd64" }));
  t.equal(a, b);
  t.match(a, /^[0-9a-f]{64}$/);
});

t.test("the hash does not depend on object key order", async (t) => {
  const recipe = baseImageRecipe({ mirror: MIRROR, architecture: "amd64" });
  const reordered = Object.fromEntries(Object.entries(recipe).reverse()) as unknown as BaseImageRecipe;
  t.equal(recipeHash(reordered), recipeHash(recipe));
});

t.test("the hash does not depend on the order packages are listed in", async (t) => {
  const recipe = baseImageRecipe({ mirror: MIRROR, architecture: "amd64" });
  t.same(recipe.packages, [...BASE_IMAGE_PACKAGES].sort());
});

t.test("every content-changing input changes the hash", async (t) => {
  const base = baseImageRecipe({ mirror: MIRROR, architecture: "amd64" });
  const hash = recipeHash(base);
  const variants: [string, BaseImageRecipe][] = [
    ["mirror", baseImageRecipe({ mirror: "http://mirror.example/debian", architecture: "amd64" })],
    ["architecture", baseImageRecipe({ mirror: MIRROR, architecture: "arm64" })],
    ["an extra package", { ...base, packages: [...base.packages, "vim"] }],
    ["a removed package", { ...base, packages: base.packages.filter((p) => p !== "git") }],
    ["the suite", { ...base, suite: "trixie" }],
    ["the builder version", { ...base, builderVersion: base.builderVersion + 1 }],
    ["a file's content", { ...base, files: base.files.map((f, i) => (i === 0 ? { ...f, content: `${f.content}#\n` } : f)) }],
    ["a file's mode", { ...base, files: base.files.map((f, i) => (i === 0 ? { ...f, mode: 0o600 } : f)) }],
    ["the masked units", { ...base, maskedUnits: [...base.maskedUnits, "cron.service"] }],
  ];
  for (const [what, recipe] of variants) t.not(recipeHash(recipe), hash, what);
});

t.test("the recipe carries what SPEC §6 promises", async (t) => {
  const recipe = baseImageRecipe({ mirror: MIRROR, architecture: "amd64" });
  for (const pkg of ["openssh-server", "git", "curl", "ca-certificates", "sudo", "build-essential", "nodejs", "npm", "python3", "python3-venv"]) {
    t.ok(recipe.packages.includes(pkg), pkg);
  }
  t.same(recipe.user, { name: "dev", uid: 1000, home: "/home/dev", shell: "/bin/bash" });
  const sudoers = recipe.files.find((f) => f.path === "/etc/sudoers.d/nexus-dev");
  t.equal(sudoers?.mode, 0o440, "sudoers drop-in must be 0440 or sudo ignores it");
  t.match(sudoers?.content, /^dev ALL=\(ALL:ALL\) NOPASSWD: ALL\n$/);
  t.ok(recipe.enabledUnits.includes("nexus-ssh-hostkeys.service"), "host keys are generated per container");
  t.equal(BASE_IMAGE_ALIAS, "nexus/debian-12");
});

t.test("architecture names map from node's to Debian's and Incus's", async (t) => {
  t.same(hostArchitecture("x64"), { debian: "amd64", incus: "x86_64" });
  t.same(hostArchitecture("arm64"), { debian: "arm64", incus: "aarch64" });
  t.throws(() => hostArchitecture("mips"), /unsupported architecture/);
});
