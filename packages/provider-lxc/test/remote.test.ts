// The HTTPS transport: a client certificate is presented and the daemon's certificate
// is checked against the configured CA.
import t from "tap";
import { execFile } from "node:child_process";
import { createServer, type Server } from "node:https";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { silentLogger } from "@nexus/core";
import { LxcProvider } from "../src/provider.js";
import { lxcOptionsSchema } from "../src/options.js";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "nexus-lxc-tls-"));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** A self-signed P-256 certificate for 127.0.0.1. */
async function selfSigned(name: string): Promise<{ cert: string; key: string; certPath: string; keyPath: string }> {
  const keyPath = join(dir, `${name}.key`);
  const certPath = join(dir, `${name}.crt`);
  await run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
    "-subj", `/CN=${name}`, "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", keyPath, "-out", certPath]);
  return { cert: readFileSync(certPath, "utf8"), key: readFileSync(keyPath, "utf8"), certPath, keyPath };
}

const haveOpenssl = await run("openssl", ["version"]).then(() => true, () => false);

t.test("health over HTTPS presents the client certificate and trusts only the given CA", { skip: haveOpenssl ? false : "openssl not installed" }, async (t) => {
  const server = await selfSigned("incus-server");
  const client = await selfSigned("nexus-client");
  const stranger = await selfSigned("stranger");
  const seen: string[] = [];
  const https: Server = createServer({ key: server.key, cert: server.cert, ca: client.cert, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    seen.push(String((req.socket as import("node:tls").TLSSocket).getPeerCertificate().subject.CN));
    res.writeHead(200, { "content-type": "application/json" });
    if (req.url === "/1.0") res.end(JSON.stringify({ type: "sync", status_code: 200, metadata: { auth: "trusted", environment: { server: "incus", server_version: "6.0.4" } } }));
    else res.end(JSON.stringify({ type: "error", error_code: 404, error: "not found" }));
  });
  await new Promise<void>((resolve) => https.listen(0, "127.0.0.1", resolve));
  t.teardown(() => new Promise((resolve) => https.close(resolve)));
  const url = `https://127.0.0.1:${(https.address() as { port: number }).port}`;
  const make = (remote: Record<string, string>) => {
    const provider = new LxcProvider({ log: silentLogger, env: {}, dataDir: dir }, lxcOptionsSchema.parse({ remote: { url, ...remote } }));
    t.teardown(() => provider.dispose());
    return provider;
  };
  const op = () => ({ signal: AbortSignal.timeout(10_000), log: silentLogger });

  const byPem = await make({ cert: client.cert, key: client.key, ca: server.cert }).health(op());
  t.equal(byPem.ok, true, byPem.reason ?? "");
  t.equal(byPem.version, "6.0.4");
  t.ok(seen.length > 0 && seen.every((cn) => cn === "nexus-client"), "the daemon saw our client certificate on every request");

  const byPath = await make({ cert: client.certPath, key: client.keyPath, ca: server.certPath }).health(op());
  t.equal(byPath.ok, true, "PEM files given by path work too");

  const wrongCa = await make({ cert: client.cert, key: client.key, ca: stranger.cert }).health(op());
  t.equal(wrongCa.ok, false, "a daemon certificate outside the CA is refused");

  const missingFile = await make({ cert: join(dir, "nope.crt"), key: client.key }).health(op());
  t.equal(missingFile.ok, false);
  t.match(missingFile.reason, /client certificate/);
});
