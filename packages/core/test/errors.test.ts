import t from "tap";
import { ERROR_CATALOG, ERROR_CODES, NexusError, isNexusError, toNexusError } from "@nexus/core";

t.test("SPEC §11 codes map to their HTTP status and exit code", async (t) => {
  const expected: Record<string, [number, number]> = {
    invalid_request: [400, 2], invalid_config: [400, 2], auth_required: [401, 3], forbidden: [403, 3],
    workspace_not_found: [404, 4], repo_not_found: [404, 4], user_not_found: [404, 4],
    workspace_exists: [409, 5], invalid_transition: [409, 5], user_exists: [409, 5], rate_limited: [429, 6],
    provider_unavailable: [503, 8], no_node_available: [503, 8], port_pool_exhausted: [503, 8], timeout: [504, 9],
    provision_failed: [502, 10], clone_failed: [502, 10], service_failed: [502, 10], internal_error: [500, 1],
  };
  for (const [code, [http, exit]] of Object.entries(expected)) {
    const entry = ERROR_CATALOG[code as keyof typeof ERROR_CATALOG];
    t.ok(entry, `${code} is in the catalog`);
    t.equal(entry.http, http, `${code} → HTTP ${http}`);
    t.equal(entry.exit, exit, `${code} → exit ${exit}`);
  }
  t.equal(ERROR_CATALOG.auth_required.hint, "Run `nexus auth github`.");
});

t.test("isNexusError uses a Symbol.for brand, not instanceof", async (t) => {
  const e = new NexusError("timeout", "ssh_ready took too long", { details: { phase: "ssh_ready" } });
  t.ok(isNexusError(e));
  t.notOk(isNexusError(new Error("x")));
  t.notOk(isNexusError(null));
  // An error from another copy of core: a plain object carrying the same global symbol.
  const foreign = Object.assign(new Error("other copy"), { [Symbol.for("nexus.error")]: true, code: "timeout" });
  t.ok(isNexusError(foreign));
  t.same(e.toJSON(), { error: "timeout", message: "ssh_ready took too long", details: { phase: "ssh_ready" }, hint: ERROR_CATALOG.timeout.hint });
  t.equal(e.exitCode, 9);
  t.equal(e.http, 504);
  t.equal(e.retryable, true);
});

t.test("toNexusError wraps unknown errors as internal_error naming the plugin", async (t) => {
  const wrapped = toNexusError(new TypeError("boom"), { plugin: "provider:lxc" });
  t.equal(wrapped.code, "internal_error");
  t.match(wrapped.message, /provider:lxc: boom/);
  t.same(wrapped.details, { plugin: "provider:lxc" });
  const same = new NexusError("forbidden", "no");
  t.equal(toNexusError(same), same);
  t.ok(ERROR_CODES.length >= 19);
});
