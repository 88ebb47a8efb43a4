// Pieces every workspace command shares: Ctrl-C as an AbortSignal, and turning a
// workspace that ended in `error` into the NexusError the CLI exits with.
import { ERROR_CATALOG, NexusError, WorkspaceRefSchema, type CatalogEntry, type WorkspaceDetail } from "@nexus/core";
import { PHASE_DONE } from "../../progress.js";

/** An AbortSignal that fires on Ctrl-C while `run` runs; the handler is removed afterwards. */
export async function withInterrupt<T>(signal: AbortSignal | undefined, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSigint = () => controller.abort(new Error("interrupted"));
  const onOuter = () => controller.abort(signal?.reason);
  process.once("SIGINT", onSigint);
  signal?.addEventListener("abort", onOuter, { once: true });
  try {
    return await run(controller.signal);
  } finally {
    process.off("SIGINT", onSigint);
    signal?.removeEventListener("abort", onOuter);
  }
}

/** A workspace reference from the command line, checked before it is put in a URL. */
export function workspaceRef(value: string): string {
  const parsed = WorkspaceRefSchema.safeParse(value);
  if (!parsed.success) {
    throw new NexusError("invalid_request", `${JSON.stringify(value)} is not a workspace name or id`, {
      details: { workspace: value },
      hint: "Names are lower-case letters, digits and '-'; run `nexus workspace list` to see yours.",
    });
  }
  return value;
}

/** The catalog hint with `<name>` filled in. */
export function hintFor(code: keyof typeof ERROR_CATALOG, workspace: string): string | undefined {
  return (ERROR_CATALOG[code] as CatalogEntry).hint?.replaceAll("<name>", workspace);
}

/** What failed, in which phase, and what to run next — for a workspace whose status is `error`. */
export function workspaceFailure(detail: WorkspaceDetail, doing = "create"): NexusError {
  const name = detail.workspace_name;
  const error = detail.error ?? { code: "internal_error" as const, message: "the workspace is in the error state without a reason" };
  const phase = error.phase;
  const where = phase ? ` in phase ${phase} (${PHASE_DONE[phase]})` : "";
  const failedService = Object.values(detail.services).find((s) => s.status === "error" || s.health === "unhealthy");
  let hint: string | undefined;
  switch (error.code) {
    case "service_failed":
      hint = `Run \`nexus workspace logs ${name}${failedService ? ` ${failedService.name}` : ""}\` to see why, fix it, then \`nexus workspace delete ${name}\` and create again.`;
      break;
    case "timeout":
      hint = `Run \`nexus workspace status ${name}\` to see the phases and \`nexus workspace logs ${name}\` for service output.`;
      break;
    case "clone_failed":
      hint = `Check that the repository and branch exist and that the token can read them; then \`nexus workspace delete ${name}\` and create again.`;
      break;
    default:
      hint = hintFor(error.code, name);
  }
  return new NexusError(error.code, `workspace ${name} failed to ${doing}${where}: ${error.message}`, {
    details: { workspace: name, workspace_id: detail.workspace_id, ...(phase ? { phase } : {}), ...(failedService ? { service: failedService.name } : {}) },
    ...(hint ? { hint } : {}),
  });
}
