/** Directories detection never looks into: dependencies, VCS data, caches and virtualenvs. */
export const SKIPPED_DIRECTORIES: ReadonlySet<string> = new Set([
  "node_modules", ".git", ".hg", ".svn", ".venv", "venv", ".tox", ".nox", "__pycache__", ".mypy_cache",
  ".pytest_cache", ".ruff_cache", ".direnv", ".terraform", ".next", ".nuxt", ".svelte-kit", ".turbo", ".cache",
]);
