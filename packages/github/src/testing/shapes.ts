// Response bodies in GitHub's shapes (checked against @octokit/openapi by the
// emulator's schema test): every field the description requires, with the URL
// templates GitHub itself returns.
import { createHash } from "node:crypto";

export interface Site {
  /** REST API base (with the Enterprise /api/v3 prefix when mounted so). */
  apiUrl: string;
  webUrl: string;
  /** Host of the web URL (git host). */
  host: string;
}

export type Permission = "admin" | "maintain" | "push" | "triage" | "pull";

export interface EmulatedUser {
  login: string;
  id: number;
  type: "User" | "Organization";
  name: string | null;
  email: string | null;
  created_at: string;
}

export interface EmulatedKey {
  id: number;
  /** Owner's login. */
  login: string;
  /** `<type> <base64>`, as GitHub stores it (no comment). */
  key: string;
  title: string;
  created_at: string;
}

export interface EmulatedRepo {
  id: number;
  owner: EmulatedUser;
  name: string;
  description: string | null;
  private: boolean;
  fork: boolean;
  parent?: EmulatedRepo;
  source?: EmulatedRepo;
  default_branch: string;
  branches: string[];
  /** KiB; 0 means empty (no commits). */
  size: number;
  clone_url: string;
  ssh_url: string;
  collaborators: Map<string, Permission>;
  created_at: string;
  updated_at: string;
  pushed_at: string;
  /** A fresh fork answers 404 to this many more GETs (GitHub creates forks asynchronously). */
  hiddenGets: number;
}

export function nodeId(kind: string, id: number): string {
  return Buffer.from(`0${kind.length}:${kind}${id}`).toString("base64").replace(/=+$/, "");
}

export function fakeSha(...parts: string[]): string {
  return createHash("sha1").update(parts.join("\0")).digest("hex");
}

export function simpleUser(site: Site, user: EmulatedUser): Record<string, unknown> {
  const url = `${site.apiUrl}/users/${user.login}`;
  return {
    login: user.login,
    id: user.id,
    node_id: nodeId(user.type, user.id),
    avatar_url: `${site.webUrl}/avatars/u/${user.id}?v=4`,
    gravatar_id: "",
    url,
    html_url: `${site.webUrl}/${user.login}`,
    followers_url: `${url}/followers`,
    following_url: `${url}/following{/other_user}`,
    gists_url: `${url}/gists{/gist_id}`,
    starred_url: `${url}/starred{/owner}{/repo}`,
    subscriptions_url: `${url}/subscriptions`,
    organizations_url: `${url}/orgs`,
    repos_url: `${url}/repos`,
    events_url: `${url}/events{/privacy}`,
    received_events_url: `${url}/received_events`,
    type: user.type,
    user_view_type: "public",
    site_admin: false,
  };
}

/** GET /user: the "private-user" shape. */
export function privateUser(site: Site, user: EmulatedUser, counts: { publicRepos: number; privateRepos: number }): Record<string, unknown> {
  return {
    ...simpleUser(site, user),
    user_view_type: "private",
    name: user.name,
    company: null,
    blog: "",
    location: null,
    email: user.email,
    notification_email: user.email,
    hireable: null,
    bio: null,
    twitter_username: null,
    public_repos: counts.publicRepos,
    public_gists: 0,
    followers: 0,
    following: 0,
    created_at: user.created_at,
    updated_at: user.created_at,
    private_gists: 0,
    total_private_repos: counts.privateRepos,
    owned_private_repos: counts.privateRepos,
    disk_usage: 0,
    collaborators: 0,
    two_factor_authentication: true,
    plan: { name: "free", space: 976562499, collaborators: 0, private_repos: 10000 },
  };
}

export function keyBody(site: Site, key: EmulatedKey): Record<string, unknown> {
  return {
    key: key.key,
    id: key.id,
    url: `${site.apiUrl}/user/keys/${key.id}`,
    title: key.title,
    created_at: key.created_at,
    verified: false,
    read_only: false,
    last_used: null,
  };
}

/** The "repository" shape (used for parent/source) — the full one adds counts and the viewer's permissions. */
function repositoryCore(site: Site, repo: EmulatedRepo): Record<string, unknown> {
  const fullName = `${repo.owner.login}/${repo.name}`;
  const url = `${site.apiUrl}/repos/${fullName}`;
  return {
    id: repo.id,
    node_id: nodeId("Repository", repo.id),
    name: repo.name,
    full_name: fullName,
    owner: simpleUser(site, repo.owner),
    private: repo.private,
    html_url: `${site.webUrl}/${fullName}`,
    description: repo.description,
    fork: repo.fork,
    url,
    archive_url: `${url}/{archive_format}{/ref}`,
    assignees_url: `${url}/assignees{/user}`,
    blobs_url: `${url}/git/blobs{/sha}`,
    branches_url: `${url}/branches{/branch}`,
    collaborators_url: `${url}/collaborators{/collaborator}`,
    comments_url: `${url}/comments{/number}`,
    commits_url: `${url}/commits{/sha}`,
    compare_url: `${url}/compare/{base}...{head}`,
    contents_url: `${url}/contents/{+path}`,
    contributors_url: `${url}/contributors`,
    deployments_url: `${url}/deployments`,
    downloads_url: `${url}/downloads`,
    events_url: `${url}/events`,
    forks_url: `${url}/forks`,
    git_commits_url: `${url}/git/commits{/sha}`,
    git_refs_url: `${url}/git/refs{/sha}`,
    git_tags_url: `${url}/git/tags{/sha}`,
    git_url: `git://${site.host}/${fullName}.git`,
    issue_comment_url: `${url}/issues/comments{/number}`,
    issue_events_url: `${url}/issues/events{/number}`,
    issues_url: `${url}/issues{/number}`,
    keys_url: `${url}/keys{/key_id}`,
    labels_url: `${url}/labels{/name}`,
    languages_url: `${url}/languages`,
    merges_url: `${url}/merges`,
    milestones_url: `${url}/milestones{/number}`,
    notifications_url: `${url}/notifications{?since,all,participating}`,
    pulls_url: `${url}/pulls{/number}`,
    releases_url: `${url}/releases{/id}`,
    ssh_url: repo.ssh_url,
    stargazers_url: `${url}/stargazers`,
    statuses_url: `${url}/statuses/{sha}`,
    subscribers_url: `${url}/subscribers`,
    subscription_url: `${url}/subscription`,
    tags_url: `${url}/tags`,
    teams_url: `${url}/teams`,
    trees_url: `${url}/git/trees{/sha}`,
    clone_url: repo.clone_url,
    mirror_url: null,
    hooks_url: `${url}/hooks`,
    svn_url: `${site.webUrl}/${fullName}`,
    homepage: null,
    language: null,
    forks_count: 0,
    stargazers_count: 0,
    watchers_count: 0,
    size: repo.size,
    default_branch: repo.default_branch,
    open_issues_count: 0,
    is_template: false,
    topics: [],
    has_issues: true,
    has_projects: true,
    has_wiki: true,
    has_pages: false,
    has_downloads: true,
    has_discussions: false,
    archived: false,
    disabled: false,
    visibility: repo.private ? "private" : "public",
    pushed_at: repo.pushed_at,
    created_at: repo.created_at,
    updated_at: repo.updated_at,
    allow_forking: true,
    web_commit_signoff_required: false,
    license: null,
    forks: 0,
    open_issues: 0,
    watchers: 0,
  };
}

/** GET /repos/{owner}/{repo} and POST …/forks: the "full-repository" shape. */
export function fullRepository(site: Site, repo: EmulatedRepo, options: { permission?: Permission | undefined; forks: number }): Record<string, unknown> {
  return {
    ...repositoryCore(site, repo),
    forks_count: options.forks,
    forks: options.forks,
    ...(options.permission ? { permissions: permissionsBody(options.permission) } : {}),
    ...(repo.owner.type === "Organization" ? { organization: simpleUser(site, repo.owner) } : {}),
    ...(repo.parent ? { parent: repositoryCore(site, repo.parent) } : {}),
    ...(repo.source ? { source: repositoryCore(site, repo.source) } : {}),
    network_count: options.forks,
    subscribers_count: 0,
  };
}

const PERMISSION_ORDER: Permission[] = ["pull", "triage", "push", "maintain", "admin"];

function permissionsBody(permission: Permission): Record<string, boolean> {
  const level = PERMISSION_ORDER.indexOf(permission);
  return Object.fromEntries(PERMISSION_ORDER.map((p, i) => [p, i <= level]));
}

export function atLeast(permission: Permission | undefined, wanted: Permission): boolean {
  return permission !== undefined && PERMISSION_ORDER.indexOf(permission) >= PERMISSION_ORDER.indexOf(wanted);
}

export function gitRefBody(site: Site, repo: EmulatedRepo, branch: string): Record<string, unknown> {
  const url = `${site.apiUrl}/repos/${repo.owner.login}/${repo.name}`;
  const sha = fakeSha(repo.owner.login, repo.name, branch);
  return {
    ref: `refs/heads/${branch}`,
    node_id: Buffer.from(`04:Ref${repo.id}:refs/heads/${branch}`).toString("base64"),
    url: `${url}/git/refs/heads/${branch}`,
    object: { type: "commit", sha, url: `${url}/git/commits/${sha}` },
  };
}

export function errorBody(message: string, status: number, documentation = "https://docs.github.com/rest"): Record<string, unknown> {
  return { message, documentation_url: documentation, status: String(status) };
}
