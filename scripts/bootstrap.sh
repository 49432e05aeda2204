#!/usr/bin/env bash
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Install everything the tests and the demo need: Debian packages (as root), then a
# Python venv with requirements-dev.txt. Safe to run again: each step is skipped when
# its work is already done, so a warm run takes about a second.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${AUTOTLS_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
LOG="$(mktemp /tmp/autotls-bootstrap.XXXXXX.log)"
trap 'rm -f "$LOG"' EXIT

# pebble: ACME test CA; nginx-light, openssh-server: test hosts; golang + smallstep
# sources: step-ca, built offline; python3: the interpreter Ansible uses on test hosts;
# prometheus (promtool), prometheus-node-exporter, prometheus-pushgateway: the metrics
# tests and `promtool test rules`; chromium: the report's headless-browser test;
# haproxy, apache2: the server kinds beyond nginx (started only inside test hosts).
PACKAGES=(
    pebble nginx-light openssh-server openssl curl git make ca-certificates python3
    shellcheck golang-go golang-github-smallstep-certificates-dev golang-github-urfave-cli-dev
    prometheus prometheus-node-exporter prometheus-pushgateway chromium
    haproxy apache2
)

say() { printf 'bootstrap: %s\n' "$*"; }
run_logged() { "$@" >"$LOG" 2>&1 || { tail -n 40 "$LOG"; say "FAILED: $*"; exit 1; }; }

missing=()
for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
done
if ((${#missing[@]} == 0)); then
    say "apt: ${#PACKAGES[@]} packages already installed"
else
    [[ $EUID -eq 0 ]] || { say "apt: run as root to install: ${missing[*]}"; exit 1; }
    say "apt: installing ${missing[*]}"
    # Keep package scripts from starting nginx or sshd on the real host: a stray nginx
    # on *:80 would answer the test hosts' HTTP-01 validations.
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        trap 'rm -f "$LOG" /usr/sbin/policy-rc.d' EXIT
    fi
    export DEBIAN_FRONTEND=noninteractive
    run_logged apt-get update
    run_logged apt-get install -y --no-install-recommends "${missing[@]}"
fi

if ! "$VENV/bin/python" -c '' 2>/dev/null; then
    say "venv: creating $VENV with $("$PYTHON" -V 2>&1)"
    rm -rf "$VENV"
    run_logged "$PYTHON" -m venv "$VENV"
else
    say "venv: $VENV exists"
fi

stamp="$VENV/.requirements.sha256"
want="$(cat "$ROOT/requirements-dev.txt" "$ROOT/meta/ee-requirements.txt" <("$VENV/bin/python" -V) | sha256sum | cut -d' ' -f1)"
if [[ "$(cat "$stamp" 2>/dev/null)" == "$want" ]]; then
    say "pip: requirements unchanged"
else
    say "pip: installing requirements-dev.txt"
    rm -f "$stamp"
    run_logged "$VENV/bin/python" -m pip install --upgrade pip
    run_logged "$VENV/bin/python" -m pip install -r "$ROOT/requirements-dev.txt"
    echo "$want" >"$stamp"
fi
say "ready: $("$VENV/bin/python" -c 'import sys, ansible.release as r
print("ansible-core %s, Python %s" % (r.__version__, sys.version.split()[0]))')"
