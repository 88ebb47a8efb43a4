// Default workspace names (SPEC §7): the repository name; if the user already has a
// workspace of that name, `<repo>-<branch>`; then a numeric suffix. Repository and
// branch names allow characters workspace names do not, so they are folded first.
import { NAME_PATTERN } from "../wire/validation.js";

const MAX_NAME = 63;
/** The branch part of `<repo>-<branch>` is cut to this, so some of the repository name always shows. */
const MAX_BRANCH_PART = 40;
/** Numeric suffixes tried after the repository and branch forms. */
const MAX_SUFFIX = 99;

/** Lower-case letters, digits and single '-' only: `My_Repo.js` → `my-repo-js`. */
export function toWorkspaceName(text: string): string {
  const folded = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return clip(folded) || "workspace";
}

function clip(name: string): string {
  return name.slice(0, MAX_NAME).replace(/-+$/, "");
}

/** `base` + `-suffix`, shortening the base so that the whole fits 63 characters. */
function withSuffix(base: string, suffix: string): string {
  const room = MAX_NAME - suffix.length - 1;
  return `${base.slice(0, room).replace(/-+$/, "")}-${suffix}`;
}

/** Names to try in order; every one matches NAME_PATTERN. */
export function workspaceNameCandidates(repoName: string, branch?: string): string[] {
  const base = toWorkspaceName(repoName);
  const names = [base];
  if (branch) names.push(withSuffix(base, toWorkspaceName(branch).slice(0, MAX_BRANCH_PART).replace(/-+$/, "")));
  for (let n = 2; n <= MAX_SUFFIX; n++) names.push(withSuffix(base, String(n)));
  return [...new Set(names)].filter((name) => NAME_PATTERN.test(name));
}
