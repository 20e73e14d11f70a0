#!/usr/bin/env bash
# Installs what the browser tests need (agentdesk's TestBrowserAgentDesk): Debian's chromium,
# iproute2 for the network namespace the browser runs in, and a CJK font so that the page's
# Chinese is not drawn as boxes. Idempotent: with everything there it installs nothing.
# Installing needs root.
#
#   scripts/browser.sh          install what is missing, then print the browser's path
#   scripts/browser.sh check    only report; exit 1 when something is missing
set -euo pipefail

say() { printf 'browser: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

find_chromium() {
	local c
	for c in chromium chromium-browser; do
		if command -v "$c" >/dev/null 2>&1; then
			command -v "$c"
			return 0
		fi
	done
	return 1
}

# missing prints the Debian packages still to install, space-separated.
missing() {
	local want=()
	find_chromium >/dev/null || want+=(chromium)
	command -v ip >/dev/null 2>&1 || want+=(iproute2)
	if ! { command -v fc-list >/dev/null 2>&1 && fc-list :lang=zh 2>/dev/null | grep -q .; }; then
		want+=(fonts-noto-cjk)
	fi
	echo "${want[*]}"
}

want=$(missing)
case "${1:-install}" in
check)
	[ -z "$want" ] || die "missing: $want (run scripts/browser.sh as root to install)"
	find_chromium
	exit 0
	;;
install) ;;
*) die "usage: scripts/browser.sh [check]" ;;
esac

if [ -n "$want" ]; then
	[ "$(id -u)" -eq 0 ] || die "the Debian package(s) $want are missing; installing them needs root: run 'sudo scripts/browser.sh'"
	say "installing Debian package(s): $want"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	# shellcheck disable=SC2086 # one word per package
	apt-get install -y -qq --no-install-recommends $want >&2 || die "apt-get install $want failed"
	want=$(missing)
	[ -z "$want" ] || die "still missing after the install: $want"
fi
path=$(find_chromium)
say "chromium: $path ($("$path" --version 2>/dev/null || echo 'version unknown'))"
echo "$path"
