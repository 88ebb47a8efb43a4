import t from "tap";
import {
  aptInstallArgv,
  chrootArgv,
  createUserArgv,
  debootstrapArgv,
  disablePasswordArgv,
  ROOTFS_TAR_EXCLUDES,
  systemctlArgv,
  tarCreateArgv,
} from "../../src/image/commands.js";
import { baseImageRecipe } from "../../src/image/recipe.js";
import { runProcess } from "../../src/image/process.js";

const recipe = baseImageRecipe({ mirror: "http://deb.debian.org/debian", architecture: "amd64" });

t.test("debootstrap argv: options first, then suite, target and mirror as separate elements", async (t) => {
  const argv = debootstrapArgv({
    recipe,
    target: "/var/cache/nexus/images/.build-x/rootfs with space",
    mirror: recipe.mirror,
    cacheDir: "/var/cache/nexus/images/packages",
  });
  t.same(argv, [
    "debootstrap",
    "--variant=minbase",
    "--arch=amd64",
    "--include=ca-certificates",
    "--cache-dir=/var/cache/nexus/images/packages",
    "bookworm",
    "/var/cache/nexus/images/.build-x/rootfs with space",
    "http://deb.debian.org/debian",
  ]);
});

t.test("debootstrap argv leaves out --cache-dir when none is given", async (t) => {
  const argv = debootstrapArgv({ recipe, target: "/tmp/rootfs", mirror: recipe.mirror });
  t.notOk(argv.some((a) => a.startsWith("--cache-dir")));
});

t.test("apt and chroot argvs keep each package and path one element", async (t) => {
  t.same(aptInstallArgv(["git", "curl"]), ["apt-get", "-q", "-y", "--no-install-recommends", "install", "git", "curl"]);
  t.same(chrootArgv("/r", ["useradd", "dev"]), ["chroot", "/r", "useradd", "dev"]);
  t.same(createUserArgv(recipe.user), [
    "useradd", "--uid", "1000", "--user-group", "--create-home", "--home-dir", "/home/dev",
    "--shell", "/bin/bash", "--groups", "sudo", "dev",
  ]);
  t.same(disablePasswordArgv(recipe.user), ["usermod", "--password", "*", "dev"]);
  t.same(systemctlArgv("mask", ["a.timer", "b.service"]), ["systemctl", "mask", "--quiet", "a.timer", "b.service"]);
});

t.test("tar argv packs the directory's contents with numeric owners and the excludes", async (t) => {
  const argv = tarCreateArgv({ directory: "/w/rootfs", output: "/w/rootfs.tar", excludes: ROOTFS_TAR_EXCLUDES });
  t.equal(argv[0], "tar");
  t.ok(argv.includes("--numeric-owner"));
  t.ok(argv.includes("--file=/w/rootfs.tar"));
  t.ok(argv.includes("--directory=/w/rootfs"));
  t.ok(argv.includes("--exclude=./proc/*"));
  t.equal(argv.at(-1), ".");
});

t.test("argv values with shell syntax reach the process verbatim (no shell)", async (t) => {
  const tricky = "$(touch /tmp/nexus-pwned); `id` | && ; 'quoted' \"dq\"";
  const lines: string[] = [];
  const result = await runProcess(["printf", "%s\\n", tricky], { onLine: (l) => lines.push(l) });
  t.equal(result.exitCode, 0);
  t.same(lines, [tricky]);
});

t.test("runProcess keeps only the last lines and reports the exit code", async (t) => {
  const result = await runProcess(["seq", "1", "100"], { tailLines: 5 });
  t.equal(result.exitCode, 0);
  t.same(result.tail, ["96", "97", "98", "99", "100"]);
  const failed = await runProcess(["sh", "-c", "echo oops >&2; exit 3"]);
  t.equal(failed.exitCode, 3);
  t.same(failed.tail, ["oops"]);
});
