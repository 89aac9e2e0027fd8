#!/usr/bin/env bash
# Install the system packages the test suite needs, only if they are missing:
#   postgresql  (initdb/pg_ctl for the throwaway server in tests/_postgres.py)
#   graphviz    (dot, for drawing patterns offline)
#   g++, cmake  (the real-model tier compiles llama-cpp-python's server once; tests/_llama_server.py)
# Idempotent and quiet: a machine that already has both runs no apt command at all.
set -euo pipefail

have_initdb() {
    command -v initdb >/dev/null 2>&1 && return 0
    local bin
    for bin in /usr/lib/postgresql/*/bin/initdb; do
        [ -x "$bin" ] && return 0
    done
    return 1
}

have_dot() {
    command -v dot >/dev/null 2>&1
}

missing=()
have_initdb || missing+=(postgresql)
have_dot || missing+=(graphviz)
command -v c++ >/dev/null 2>&1 || missing+=(g++)
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
[ "${#missing[@]}" -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-system-deps: missing ${missing[*]} and apt-get is not available; install them by hand" >&2
    exit 1
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo=(sudo -n)
    else
        echo "install-system-deps: missing ${missing[*]}; run as root or install sudo" >&2
        exit 1
    fi
fi

echo "install-system-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# one apt-get update, then one install for everything that is missing
if ! { "${sudo[@]}" apt-get update -qq >"$log" 2>&1 \
       && "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$log" 2>&1; }; then
    cat "$log" >&2
    echo "install-system-deps: apt-get failed for ${missing[*]}" >&2
    exit 1
fi

have_initdb || { echo "install-system-deps: initdb still not found after installing postgresql" >&2; exit 1; }
have_dot || { echo "install-system-deps: dot still not found after installing graphviz" >&2; exit 1; }
