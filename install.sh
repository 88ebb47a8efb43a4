#!/bin/sh
# nexus installer: installs the nexus CLI, records the server and repository in
# ~/.nexus/config.yaml, then sets up a workspace for the repository.
#
#   curl -fsSL https://HOST/install.sh | sh -s -- --repo my-org/my-app --server https://nexus.example.com
#
# Run with --help for the options; docs/install.md has the details. POSIX sh, shellcheck-clean.
# Everything is inside functions and `main` runs on the last line, so a download cut short
# runs nothing, and commands run by the installer cannot read the rest of a piped script.
set -eu

DEFAULT_DOWNLOAD_URL="https://get.nexus.dev/releases"
NPM_PACKAGE="@nexus/cli"
# The CLI's package.json engines field: below this, the standalone binary is installed instead.
MIN_NODE_MAJOR=22
MIN_NODE_MINOR=19

usage() {
	cat <<'EOF'
Install the nexus CLI and set up a workspace for a repository.

Usage: install.sh [options]

Options:
  --repo REPO       repository to set up: owner/name, a Git URL, or (with --local) a path
  --server URL      coordination server (https://…); recorded in ~/.nexus/config.yaml
  --editor NAME     editor to open (cursor, code, windsurf, zed, vim, nvim, none, …)
  --version X.Y.Z   nexus version to install (default: latest)
  --prefix DIR      install under DIR/bin (default: ~/.local)
  --local           single-machine mode: the server runs on this machine (nexus up)
  --uninstall       remove what this script installed (keeps your data in ~/.nexus; says how to remove it)
  -h, --help        show this help

Environment:
  NEXUS_DOWNLOAD_URL    base URL of the standalone binaries: <url>/<version|latest>/nexus-<os>-<arch>
                        and <url>/<version|latest>/SHA256SUMS (default: https://get.nexus.dev/releases)
  NEXUS_INSTALL_METHOD  npm or binary (default: npm when Node.js >= 22.19 and npm are present)
  NEXUS_OS_RELEASE      the os-release file that names the Linux family for install hints
                        (default: /etc/os-release)
  NEXUS_HOME            nexus's own directory (default: ~/.nexus)
  NO_COLOR              plain output

Without --repo the CLI is installed and the next steps are printed.
EOF
}

# ---------------------------------------------------------------- output

setup_colors() {
	if [ -t 1 ] && [ -t 2 ] && [ -z "${NO_COLOR:-}" ] && [ "${TERM:-dumb}" != dumb ]; then
		BOLD=$(printf '\033[1m')
		RED=$(printf '\033[31m')
		YELLOW=$(printf '\033[33m')
		GREEN=$(printf '\033[32m')
		RESET=$(printf '\033[0m')
	else
		BOLD='' RED='' YELLOW='' GREEN='' RESET=''
	fi
}

say() { printf '%s\n' "$*"; }
step() { printf '%s==>%s %s\n' "$BOLD" "$RESET" "$*"; }
ok() { printf '%s✓%s %s\n' "$GREEN" "$RESET" "$*"; }
warn() { printf '%swarning:%s %s\n' "$YELLOW" "$RESET" "$*" >&2; }
# die MESSAGE [EXIT_CODE]
die() {
	printf '%serror:%s %s\n' "$RED" "$RESET" "$1" >&2
	exit "${2:-1}"
}
usage_error() {
	printf 'error: %s\n\n' "$1" >&2
	usage >&2
	exit 2
}
invalid_value() {
	printf 'error: %s\nRun install.sh --help for the options.\n' "$1" >&2
	exit 2
}

have() { command -v "$1" >/dev/null 2>&1; }

# ---------------------------------------------------------------- arguments

REPO='' SERVER='' EDITOR_NAME='' VERSION='latest' PREFIX='' LOCAL='' UNINSTALL=''

set_option() {
	case $1 in
	--repo) REPO=$2 ;;
	--server) SERVER=$2 ;;
	--editor) EDITOR_NAME=$2 ;;
	--version) VERSION=$2 ;;
	--prefix) PREFIX=$2 ;;
	esac
}

parse_args() {
	while [ $# -gt 0 ]; do
		case $1 in
		-h | --help)
			usage
			exit 0
			;;
		--local) LOCAL=1 ;;
		--uninstall) UNINSTALL=1 ;;
		--repo | --server | --editor | --version | --prefix)
			if [ $# -lt 2 ]; then usage_error "$1 needs a value"; fi
			case $2 in -*) usage_error "$1 needs a value (got option $2)" ;; esac
			set_option "$1" "$2"
			shift
			;;
		--repo=* | --server=* | --editor=* | --version=* | --prefix=*)
			set_option "${1%%=*}" "${1#*=}"
			;;
		*) usage_error "unknown option: $1" ;;
		esac
		shift
	done
}

# True when the value has no control characters (newlines included): it goes into YAML and argv.
printable() {
	[ "$(printf '%s' "$1" | tr -d '\000-\037\177')" = "$1" ]
}

validate_args() {
	if [ -n "$UNINSTALL" ]; then
		if [ -n "$REPO$SERVER$EDITOR_NAME$LOCAL" ] || [ "$VERSION" != latest ]; then
			invalid_value "--uninstall takes no other option than --prefix"
		fi
	fi
	if [ -n "$LOCAL" ] && [ -n "$SERVER" ]; then
		invalid_value "--local and --server exclude each other: --local runs the server on this machine"
	fi
	if [ "$VERSION" != latest ]; then
		VERSION=${VERSION#v}
		if ! printf '%s\n' "$VERSION" | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$'; then
			invalid_value "--version must be a version like 1.2.3 or 'latest' (got '$VERSION')"
		fi
	fi
	if [ -n "$SERVER" ]; then
		case $SERVER in
		http://?* | https://?*) ;;
		*) invalid_value "--server must be an http:// or https:// URL (got '$SERVER')" ;;
		esac
		case $SERVER in
		*[[:space:]\"\'\\]*) invalid_value "--server must not contain spaces, quotes or backslashes" ;;
		esac
		SERVER=${SERVER%/}
	fi
	if [ -n "$EDITOR_NAME" ]; then
		case $EDITOR_NAME in
		*[!a-z0-9-]*) invalid_value "--editor must be an editor name such as code, cursor or none (got '$EDITOR_NAME')" ;;
		esac
	fi
	if [ -n "$REPO" ] && ! printable "$REPO"; then
		invalid_value "--repo must not contain control characters"
	fi
	if [ -z "$PREFIX" ]; then
		PREFIX="$HOME/.local"
	fi
	if ! printable "$PREFIX"; then
		invalid_value "--prefix must not contain control characters"
	fi
	case $PREFIX in
	/*) ;;
	*) PREFIX="$(pwd)/$PREFIX" ;;
	esac
	PREFIX=${PREFIX%/}
}

# ---------------------------------------------------------------- platform and requirements

detect_platform() {
	uname_s=$(uname -s)
	uname_m=$(uname -m)
	case $uname_s in
	Linux) OS=linux ;;
	Darwin) OS=darwin ;;
	*) die "unsupported operating system: $uname_s (nexus runs on Linux and macOS)" ;;
	esac
	case $uname_m in
	x86_64 | amd64) ARCH=x64 ;;
	aarch64 | arm64) ARCH=arm64 ;;
	*) die "unsupported processor: $uname_m (nexus runs on x86_64 and arm64)" ;;
	esac
}

os_family() {
	if [ "$OS" = darwin ]; then
		echo macos
		return
	fi
	ids=''
	os_release=${NEXUS_OS_RELEASE:-/etc/os-release}
	if [ -r "$os_release" ]; then
		ids=$(sed -n 's/^ID=//p; s/^ID_LIKE=//p' "$os_release" | tr -d '"' | tr '\n' ' ')
	fi
	case " $ids " in
	*" debian "* | *" ubuntu "*) echo debian ;;
	*" fedora "* | *" rhel "* | *" centos "*) echo fedora ;;
	*" alpine "*) echo alpine ;;
	*" arch "*) echo arch ;;
	*) echo other ;;
	esac
}

package_for() {
	case "$1:$2" in
	*:git) echo git ;;
	*:curl) echo curl ;;
	fedora:ssh) echo openssh-clients ;;
	arch:ssh | macos:ssh) echo openssh ;;
	*:ssh) echo openssh-client ;;
	esac
}

# install_hint TOOL... prints the command that installs the tools on this system.
install_hint() {
	family=$(os_family)
	packages=''
	for tool in "$@"; do
		packages="$packages $(package_for "$family" "$tool")"
	done
	case $family in
	debian) say "  sudo apt-get update && sudo apt-get install -y$packages" ;;
	fedora) say "  sudo dnf install -y$packages" ;;
	alpine) say "  sudo apk add$packages" ;;
	arch) say "  sudo pacman -S --needed$packages" ;;
	macos)
		say "  xcode-select --install      # Apple's command line tools: git, ssh and curl"
		say "  brew install$packages      # or with Homebrew"
		;;
	*) say "  install$packages with your system's package manager" ;;
	esac
}

check_requirements() {
	missing=''
	for tool in git ssh curl; do
		have "$tool" || missing="$missing $tool"
	done
	if [ -n "$missing" ]; then
		printf '%serror:%s nexus needs git, ssh and curl; missing:%s\n' "$RED" "$RESET" "$missing" >&2
		say "Install them with:" >&2
		# shellcheck disable=SC2086 # one argument per missing tool
		install_hint $missing >&2
		say "then run this installer again." >&2
		exit 1
	fi
}

node_is_recent() {
	have node || return 1
	node_version=$(node -p 'process.versions.node' 2>/dev/null) || return 1
	node_major=${node_version%%.*}
	node_rest=${node_version#*.}
	node_minor=${node_rest%%.*}
	case "$node_major$node_minor" in '' | *[!0-9]*) return 1 ;; esac
	[ "$node_major" -gt "$MIN_NODE_MAJOR" ] || { [ "$node_major" -eq "$MIN_NODE_MAJOR" ] && [ "$node_minor" -ge "$MIN_NODE_MINOR" ]; }
}

choose_method() {
	case ${NEXUS_INSTALL_METHOD:-auto} in
	auto)
		if node_is_recent && have npm; then METHOD=npm; else METHOD=binary; fi
		;;
	npm)
		if ! node_is_recent || ! have npm; then
			die "NEXUS_INSTALL_METHOD=npm needs Node.js >= $MIN_NODE_MAJOR.$MIN_NODE_MINOR and npm on PATH"
		fi
		METHOD=npm
		;;
	binary) METHOD=binary ;;
	*) die "NEXUS_INSTALL_METHOD must be npm or binary (got '${NEXUS_INSTALL_METHOD:-}')" 2 ;;
	esac
}

# ---------------------------------------------------------------- installing the CLI

cleanup() {
	if [ -n "${WORK_DIR:-}" ]; then rm -rf "$WORK_DIR"; fi
}

sha256_of() {
	if have sha256sum; then
		sha256sum "$1" | awk '{ print $1 }'
	else
		shasum -a 256 "$1" | awk '{ print $1 }'
	fi
}

# fetch URL FILE
fetch() {
	case $1 in
	https://*) curl -fsSL --proto '=https' --tlsv1.2 --retry 2 --connect-timeout 20 -o "$2" "$1" ;;
	*) curl -fsSL --retry 2 --connect-timeout 20 -o "$2" "$1" ;;
	esac
}

install_binary() {
	if ! have sha256sum && ! have shasum; then
		die "need sha256sum (coreutils) or shasum (perl) to verify the download; install one and run this installer again"
	fi
	base=${NEXUS_DOWNLOAD_URL:-$DEFAULT_DOWNLOAD_URL}
	base=${base%/}
	case $base in
	https://?*) ;;
	http://127.0.0.1[:/]* | http://localhost[:/]* | http://\[::1\][:/]*) ;;
	http://?*) warn "NEXUS_DOWNLOAD_URL is plain http: the download and its checksums can be tampered with on the way" ;;
	*) die "NEXUS_DOWNLOAD_URL must be an http:// or https:// URL (got '$base')" 2 ;;
	esac
	asset="nexus-$OS-$ARCH"
	release="$base/$VERSION"

	WORK_DIR=$(mktemp -d 2>/dev/null || mktemp -d -t nexus-install)
	trap cleanup EXIT
	trap 'cleanup; exit 130' INT
	trap 'cleanup; exit 143' TERM

	step "Fetching $release/SHA256SUMS"
	fetch "$release/SHA256SUMS" "$WORK_DIR/SHA256SUMS" || die "could not download $release/SHA256SUMS (is version '$VERSION' published there?)"
	expected=$(awk -v name="$asset" '$2 == name || $2 == "*" name { print $1; exit }' "$WORK_DIR/SHA256SUMS")
	case $expected in
	'') die "$release/SHA256SUMS has no entry for $asset: refusing to install an unverified binary (no build for $OS/$ARCH in this release?)" ;;
	*[!0-9a-f]*) die "$release/SHA256SUMS has a malformed entry for $asset: refusing to install" ;;
	esac
	[ ${#expected} -eq 64 ] || die "$release/SHA256SUMS has a malformed entry for $asset: refusing to install"

	if [ -f "$BIN" ] && [ "$(sha256_of "$BIN")" = "$expected" ]; then
		ok "$BIN is already this release ($asset, sha256 $expected): nothing to download"
		return 0
	fi

	step "Downloading $release/$asset"
	fetch "$release/$asset" "$WORK_DIR/$asset" || die "could not download $release/$asset"
	actual=$(sha256_of "$WORK_DIR/$asset")
	if [ "$actual" != "$expected" ]; then
		rm -f "$WORK_DIR/$asset"
		die "checksum mismatch for $asset: SHA256SUMS says $expected, the download is $actual. The download is corrupt or was tampered with; nothing was installed."
	fi
	ok "sha256 verified: $actual"

	mkdir -p "$PREFIX/bin"
	# Copied beside the destination, then renamed over it: the swap is atomic, a running nexus
	# keeps its old file, and a symlink left by an npm install is replaced, not written through.
	partial="$PREFIX/bin/.nexus.install.$$"
	cp "$WORK_DIR/$asset" "$partial"
	chmod 0755 "$partial"
	mv -f "$partial" "$BIN"
	ok "installed $BIN"
}

install_npm() {
	spec=$NPM_PACKAGE
	if [ "$VERSION" != latest ]; then
		spec="$NPM_PACKAGE@$VERSION"
		if [ -x "$BIN" ] && [ "$("$BIN" --version 2>/dev/null || true)" = "$VERSION" ]; then
			ok "$BIN is already nexus $VERSION: nothing to install"
			return 0
		fi
	fi
	step "Installing $spec with npm (Node.js $(node -p 'process.versions.node')) into $PREFIX"
	npm install --global --prefix "$PREFIX" --no-audit --no-fund --loglevel=error "$spec" ||
		die "npm could not install $spec. Retry with NEXUS_INSTALL_METHOD=binary to use the standalone binary."
	ok "installed $BIN"
}

write_manifest() {
	manifest="$NEXUS_DIR/install-manifest"
	{
		say "# Written by install.sh; read by install.sh --uninstall."
		say "method=$METHOD"
		say "prefix=$PREFIX"
		say "version=$INSTALLED_VERSION"
		if [ "$METHOD" = npm ]; then say "package=$NPM_PACKAGE"; fi
		say "file=$BIN"
		if [ -n "${CONFIG_SHA256:-}" ]; then
			say "config=$NEXUS_DIR/config.yaml"
			say "config_sha256=$CONFIG_SHA256"
		fi
	} >"$manifest.tmp.$$"
	chmod 600 "$manifest.tmp.$$"
	mv -f "$manifest.tmp.$$" "$manifest"
}

check_path() {
	case ":$PATH:" in
	*":$PREFIX/bin:"*) ;;
	*)
		warn "$PREFIX/bin is not on your PATH, so your shell will not find nexus. Add this line to ~/.profile (or your shell's rc file), then open a new terminal:"
		# shellcheck disable=SC2016 # a literal $PATH, for the user to paste
		printf '    export PATH="%s/bin:$PATH"\n' "$PREFIX" >&2
		;;
	esac
}

# ---------------------------------------------------------------- ~/.nexus/config.yaml

yaml_quote() {
	printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"
}

# set_config_key FILE KEY VALUE: replaces the top-level KEY (and any indented lines under it) or
# appends it; every other line is kept as it is.
set_config_key() {
	tmp="$1.tmp.$$"
	NEXUS_KEY=$2 NEXUS_LINE="$2: $(yaml_quote "$3")" awk '
		BEGIN { key = ENVIRON["NEXUS_KEY"] ":"; line = ENVIRON["NEXUS_LINE"] }
		index($0, key) == 1 { if (!done) print line; done = 1; skipping = 1; next }
		skipping && /^[ \t]/ { next }
		{ skipping = 0; print }
		END { if (!done) print line }
	' "$1" >"$tmp"
	chmod 600 "$tmp"
	mv -f "$tmp" "$1"
}

# config_is_ours: the config file is one this script created and nothing changed since
# (its checksum is the one the manifest recorded).
config_is_ours() {
	manifest="$NEXUS_DIR/install-manifest"
	recorded=''
	if [ -f "$manifest" ]; then recorded=$(manifest_value config_sha256 "$manifest"); fi
	[ -n "$recorded" ] && [ -f "$NEXUS_DIR/config.yaml" ] && { have sha256sum || have shasum; } &&
		[ "$(sha256_of "$NEXUS_DIR/config.yaml")" = "$recorded" ]
}

# Writes server/repo into ~/.nexus/config.yaml, keeping every other line. A file this script
# created (and nobody changed since) is recorded in the manifest, so --uninstall removes it.
write_config() {
	CONFIG_SHA256=''
	config="$NEXUS_DIR/config.yaml"
	owned=''
	if [ ! -f "$config" ] || config_is_ours; then owned=1; fi
	if [ -n "$SERVER$REPO" ]; then
		[ -f "$config" ] || : >"$config"
		if [ -n "$SERVER" ]; then set_config_key "$config" server "$SERVER"; fi
		if [ -n "$REPO" ]; then set_config_key "$config" repo "$REPO"; fi
		ok "wrote $config"
	fi
	if [ -n "$owned" ] && [ -f "$config" ]; then CONFIG_SHA256=$(sha256_of "$config"); fi
}

# ---------------------------------------------------------------- workspace setup

# Commands the installer runs may ask questions (GitHub login): give them the terminal, not the
# pipe this script may have come through.
run_interactive() {
	if [ -t 0 ]; then
		"$@"
	elif (: </dev/tty) 2>/dev/null; then
		"$@" </dev/tty
	else
		"$@" </dev/null
	fi
}

run_setup() {
	if [ -z "$REPO" ]; then
		say ""
		say "${BOLD}nexus is installed.${RESET} Next:"
		say "  nexus up                                    a workspace for the repository in this directory (single machine)"
		say "  nexus workspace setup-from-repo OWNER/REPO --server URL"
		say "  nexus doctor                                check git, ssh, the server, auth and editors"
		return 0
	fi
	if [ -n "$SERVER" ]; then
		set -- workspace setup-from-repo "$REPO" --server "$SERVER"
	else
		if [ -z "$LOCAL" ]; then say "No --server given: single-machine mode (nexus up). Pass --server URL to use a coordination server."; fi
		set -- up "$REPO"
	fi
	if [ -n "$EDITOR_NAME" ]; then set -- "$@" --editor "$EDITOR_NAME"; fi
	step "nexus $*"
	if run_interactive "$BIN" "$@"; then
		return 0
	else
		code=$?
		printf '%serror:%s nexus %s failed (exit %s). The CLI is installed; fix what it reported, then run:\n  %s %s\n' "$RED" "$RESET" "$1" "$code" "$BIN" "$*" >&2
		exit "$code"
	fi
}

# ---------------------------------------------------------------- uninstall

manifest_value() {
	sed -n "s/^$1=//p" "$2" | head -n 1
}

uninstall() {
	manifest="$NEXUS_DIR/install-manifest"
	if [ ! -f "$manifest" ]; then
		say "Nothing to uninstall: $manifest does not exist (nexus was not installed by this script, or was already removed)."
	else
		method=$(manifest_value method "$manifest")
		prefix=$(manifest_value prefix "$manifest")
		if [ "$method" = npm ]; then
			package=$(manifest_value package "$manifest")
			if have npm; then
				step "npm uninstall --global --prefix $prefix $package"
				npm uninstall --global --prefix "$prefix" --loglevel=error "$package" || warn "npm could not uninstall $package from $prefix"
			else
				warn "npm is not on PATH: remove $prefix/lib/node_modules/$package by hand"
			fi
		fi
		grep '^file=' "$manifest" | while IFS= read -r line; do
			file=${line#file=}
			case $file in
			/*/bin/nexus)
				if [ -f "$file" ] || [ -L "$file" ]; then
					rm -f "$file"
					ok "removed $file"
				fi
				;;
			*) warn "not removing $file: install.sh only installs <prefix>/bin/nexus" ;;
			esac
		done
		config=$(manifest_value config "$manifest")
		if [ -n "$config" ] && [ -f "$config" ]; then
			if config_is_ours; then
				rm -f "$config"
				ok "removed $config (written by install.sh, unchanged since)"
			else
				say "Kept $config: it changed since install.sh wrote it."
			fi
		fi
		rm -f "$manifest"
		ok "removed $manifest"
		# Nothing else in it (no credentials, keys or server data): nothing to leave behind.
		rmdir "$NEXUS_DIR" 2>/dev/null && ok "removed $NEXUS_DIR"
	fi
	if [ -d "$NEXUS_DIR" ]; then
		say ""
		say "Left in place: $NEXUS_DIR (your config, credentials, SSH keys and the local server's data)."
		say "To remove it too (stop a local server first with 'nexus server stop' if you used --local):"
		say "  rm -rf '$NEXUS_DIR'"
		say "and delete the 'Include' line nexus added at the top of ~/.ssh/config."
	fi
}

# ---------------------------------------------------------------- main

main() {
	setup_colors
	parse_args "$@"
	: "${HOME:?HOME must be set}"
	validate_args
	NEXUS_DIR=${NEXUS_HOME:-$HOME/.nexus}
	BIN="$PREFIX/bin/nexus"

	if [ -n "$UNINSTALL" ]; then
		uninstall
		return 0
	fi

	detect_platform
	check_requirements
	choose_method
	mkdir -p "$NEXUS_DIR"
	chmod 700 "$NEXUS_DIR"

	if [ "$METHOD" = npm ]; then install_npm; else install_binary; fi
	INSTALLED_VERSION=$("$BIN" --version 2>/dev/null) || die "$BIN was installed but does not run; run '$BIN --version' to see why"
	write_config
	write_manifest
	ok "nexus $INSTALLED_VERSION ($METHOD, $OS-$ARCH)"
	check_path
	run_setup
}

main "$@"
