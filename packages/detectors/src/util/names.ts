/** Service names in .nexus/config.yaml. */
export const SERVICE_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/** Project (and default workspace) names: SPEC §5 names. */
export const PROJECT_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Turns a directory, package or compose name into a valid service name ("@acme/Web App" → "web-app"). */
export function serviceName(raw: string, fallback = "service"): string {
  return sanitize(raw.replace(/^@[^/]+\//, ""), /[^a-z0-9_-]+/g, fallback);
}

export function projectName(raw: string, fallback = "project"): string {
  return sanitize(raw.replace(/^@[^/]+\//, ""), /[^a-z0-9-]+/g, fallback);
}

function sanitize(raw: string, invalid: RegExp, fallback: string): string {
  const cleaned = raw
    .toLowerCase()
    .replace(invalid, "-")
    .replace(/^[^a-z0-9]+/, "")
    .slice(0, 63)
    .replace(/[-_]+$/, "");
  return cleaned === "" ? fallback : cleaned;
}
