import { NexusError } from "@nexus/core";
import t from "tap";
import { DockerApiError, cancelled, toProviderError, transportErrorCode, unreachable } from "../../src/engine/errors.js";

const api = (status: number, message: string) => new DockerApiError(status, message, { method: "POST", path: "/containers/create" });

t.test("engine messages map to catalog codes", async (t) => {
  const base = { operation: "provision", fallback: "provision_failed" as const, image: "nexus/debian-12", sshPort: 2222, containerId: "abc" };
  t.match(toProviderError(api(404, "No such container: abc"), base), { code: "workspace_not_found", message: /container abc does not exist/ });
  t.match(toProviderError(api(404, "No such image: nexus/debian-12:latest"), base), { code: "provision_failed", message: /nexus\/debian-12/, hint: /nexus node image build --provider docker/ });
  t.match(toProviderError(api(500, "driver failed programming external connectivity on endpoint x: Bind for 0.0.0.0:2222 failed: port is already allocated"), base), { code: "provision_failed", message: /SSH port 2222 is already in use/ });
  t.match(toProviderError(api(500, "Error starting userland proxy: listen tcp4 0.0.0.0:2222: bind: address already in use"), base), { code: "provision_failed", message: /already in use/ });
  t.match(toProviderError(api(500, "something else"), base), { code: "provision_failed", message: /provision failed: something else/, details: { status: 500, engineMessage: "something else" } });
  t.match(toProviderError(api(500, "something else"), { ...base, fallback: "internal_error" }), { code: "internal_error" });
  t.match(toProviderError(new TypeError("bug"), base), { code: "internal_error", details: { provider: "docker" } });
  const already = new NexusError("timeout", "x");
  t.equal(toProviderError(already, base), already, "NexusErrors pass through");
});

t.test("transport failures are recognised through causes", async (t) => {
  t.equal(transportErrorCode(Object.assign(new Error("x"), { code: "ECONNREFUSED" })), "ECONNREFUSED");
  t.equal(transportErrorCode(new Error("outer", { cause: Object.assign(new Error("inner"), { code: "ENOENT" }) })), "ENOENT");
  t.equal(transportErrorCode(new Error("plain")), undefined);
  t.match(unreachable("unix:///var/run/docker.sock", new Error("x"), "EACCES"), { code: "provider_unavailable", hint: /docker` group/ });
});

t.test("cancellation keeps a NexusError reason and otherwise names the operation", async (t) => {
  const reason = new NexusError("timeout", "phase ssh_ready took too long");
  t.equal(cancelled(AbortSignal.abort(reason), "exec"), reason);
  t.match(cancelled(AbortSignal.abort(), "exec"), { code: "timeout", message: /exec was cancelled/ });
});
