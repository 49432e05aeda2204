#!/usr/bin/env bash
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Build step-ca (Smallstep's private CA, 0.19 on Debian 12) offline from Debian's Go
# sources and print the binary's path on stdout, last.
#
# Debian ships step-ca's library (golang-github-smallstep-certificates-dev) but no
# binary. The binary is a tiny main package around commands.AppCommand, built in GOPATH
# mode against /usr/share/gocode: no module download, no network. The result is cached
# in ${AUTOTLS_CACHE:-$HOME/.cache/autotls}/step-ca and rebuilt only when the Debian
# package version (or this script's recipe) changes. Safe to run concurrently: builds
# are serialised by a lock and the binary is replaced atomically.
#
# Needs (scripts/bootstrap.sh installs them): golang-go, golang-github-smallstep-
# certificates-dev, golang-github-urfave-cli-dev.
set -euo pipefail

CACHE="${AUTOTLS_CACHE:-${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}/.cache/autotls}"
BINARY="$CACHE/step-ca"
STAMP="$CACHE/step-ca.stamp"
SOURCE_PACKAGE=golang-github-smallstep-certificates-dev
# Bump when main.go below or the build flags change, to force a rebuild.
RECIPE=1

say() { printf 'build-step-ca: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

version="$(dpkg-query -W -f='${Version}' "$SOURCE_PACKAGE" 2>/dev/null || true)"
[[ -n "$version" ]] || die "$SOURCE_PACKAGE is not installed (run scripts/bootstrap.sh as root)"
command -v go >/dev/null || die "go is not installed (package golang-go; run scripts/bootstrap.sh)"
want="$SOURCE_PACKAGE=$version recipe=$RECIPE"

mkdir -p "$CACHE"
exec 9>"$CACHE/step-ca.lock"
flock 9  # another process may be building right now: wait for it, then reuse its binary

if [[ -x "$BINARY" && "$(cat "$STAMP" 2>/dev/null)" == "$want" ]]; then
    printf '%s\n' "$BINARY"
    exit 0
fi

build="$(mktemp -d "$CACHE/step-ca-build.XXXXXX")"
trap 'rm -rf "$build"' EXIT
main_dir="$build/src/autotls.local/step-ca"
mkdir -p "$main_dir"

# Our own entry point: a urfave/cli v1 app whose flags and action are step-ca's.
cat >"$main_dir/main.go" <<EOF
package main

import (
	"fmt"
	"os"

	"github.com/smallstep/certificates/commands"
	"github.com/urfave/cli"
)

func main() {
	app := cli.NewApp()
	app.Name = "step-ca"
	app.HelpName = "step-ca"
	app.Usage = "online certificate authority (autotls test build)"
	app.Version = "$version"
	app.UsageText = commands.AppCommand.UsageText
	app.Flags = commands.AppCommand.Flags
	app.Action = commands.AppCommand.Action
	if err := app.Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
EOF

say "building step-ca from $SOURCE_PACKAGE $version (GOPATH mode, offline)"
started=$SECONDS
(
    cd "$main_dir"
    # GOFLAGS=-mod=mod would make go reach for modules: clear it with the rest, and
    # ignore any `go env -w` settings of the user (GOENV=off).
    unset GOFLAGS GOROOT GOBIN
    export GOENV=off GO111MODULE=off GOPATH="$build:/usr/share/gocode" GOCACHE="$CACHE/go-build" \
        GOPROXY=off CGO_ENABLED=0
    go build -trimpath -o "$build/step-ca" .
) >&2 || die "go build failed (see above)"
# STEPPATH: step-ca creates that directory on start; keep it out of $HOME.
STEPPATH="$build/steppath" "$build/step-ca" --version >/dev/null || die "the built binary does not run"

mv -f "$build/step-ca" "$BINARY.tmp"
mv -f "$BINARY.tmp" "$BINARY"
printf '%s\n' "$want" >"$STAMP"
say "built in $((SECONDS - started)) s: $BINARY"
printf '%s\n' "$BINARY"
