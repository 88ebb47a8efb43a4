import t from "tap";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isNexusError } from "@nexus/core";
import {
  DEFAULT_DEBIAN_MIRROR,
  hostDebianMirror,
  imageAptSources,
  mirrorFromDeb822,
  mirrorFromSourcesList,
  validateMirrorUrl,
} from "../../src/image/mirror.js";

t.test("validateMirrorUrl accepts http(s) URLs and drops trailing slashes", async (t) => {
  t.equal(validateMirrorUrl("http://deb.debian.org/debian/"), "http://deb.debian.org/debian");
  t.equal(validateMirrorUrl("https://mirror.example:8443/debian"), "https://mirror.example:8443/debian");
  t.equal(validateMirrorUrl("http://10.0.0.5:3142/debian"), "http://10.0.0.5:3142/debian");
});

t.test("validateMirrorUrl rejects anything else as invalid_request", async (t) => {
  for (const bad of [
    "deb.debian.org/debian",
    "ftp://deb.debian.org/debian",
    "file:///srv/mirror",
    "--include=evil",
    "http://user:secret@mirror.example/debian",
    "http://mirror.example/debian?x=1",
    "http://mirror.example/debian#frag",
    "",
  ]) {
    try {
      validateMirrorUrl(bad);
      t.fail(`accepted ${JSON.stringify(bad)}`);
    } catch (error) {
      t.ok(isNexusError(error) && error.code === "invalid_request", `rejects ${JSON.stringify(bad)}`);
    }
  }
});

t.test("validateMirrorUrl never echoes credentials", async (t) => {
  try {
    validateMirrorUrl("http://user:secret@mirror.example/debian");
    t.fail("accepted credentials");
  } catch (error) {
    t.notMatch(JSON.stringify(isNexusError(error) ? error.toJSON() : error), /secret/);
  }
});

const DEB822 = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
`;

t.test("mirrorFromDeb822 finds the stanza serving the suite", async (t) => {
  t.equal(mirrorFromDeb822(DEB822, "bookworm"), "http://deb.debian.org/debian");
  t.equal(mirrorFromDeb822(DEB822, "bookworm-security"), "http://deb.debian.org/debian-security");
  t.equal(mirrorFromDeb822(DEB822, "trixie"), undefined);
});

t.test("mirrorFromDeb822 skips deb-src-only and disabled stanzas, reads continuation lines", async (t) => {
  const text = `Types: deb-src
URIs: http://src.example/debian
Suites: bookworm

Enabled: no
Types: deb
URIs: http://disabled.example/debian
Suites: bookworm

Types: deb deb-src
URIs: https://local.example/debian/
Suites:
 bookworm
 bookworm-updates
Components: main
`;
  t.equal(mirrorFromDeb822(text, "bookworm"), "https://local.example/debian");
});

t.test("mirrorFromSourcesList reads one-line sources with or without options", async (t) => {
  const text = `# comment
deb-src http://src.example/debian bookworm main
deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://opts.example/debian bookworm main
deb http://plain.example/debian bookworm-updates main
`;
  t.equal(mirrorFromSourcesList(text, "bookworm"), "http://opts.example/debian");
  t.equal(mirrorFromSourcesList(text, "bookworm-updates"), "http://plain.example/debian");
  t.equal(mirrorFromSourcesList(text, "trixie"), undefined);
});

t.test("hostDebianMirror prefers deb822, then sources.list, then Debian's redirector", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "nexus-mirror-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const paths = { deb822: join(dir, "debian.sources"), sourcesList: join(dir, "sources.list") };
  t.equal(await hostDebianMirror("bookworm", paths), DEFAULT_DEBIAN_MIRROR, "neither file exists");
  writeFileSync(paths.sourcesList, "deb http://list.example/debian bookworm main\n");
  t.equal(await hostDebianMirror("bookworm", paths), "http://list.example/debian");
  writeFileSync(paths.deb822, DEB822);
  t.equal(await hostDebianMirror("bookworm", paths), "http://deb.debian.org/debian");
});

t.test("imageAptSources writes the mirror for the suite and its updates", async (t) => {
  const text = imageAptSources("http://mirror.example/debian", "bookworm");
  t.equal(mirrorFromDeb822(text, "bookworm"), "http://mirror.example/debian");
  t.equal(mirrorFromDeb822(text, "bookworm-updates"), "http://mirror.example/debian");
});
