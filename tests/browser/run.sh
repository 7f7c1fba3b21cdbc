#!/usr/bin/env bash
# The browser tests of the tracker and of rrweb recordings (tests/browser/tracker.test.mjs) in a
# real Chromium, against `heatlake serve` started here on a free loopback port with
# tests/browser/collector.toml and a fresh table; then the HTML report of `heatlake report`
# (tests/browser/report.test.mjs), with a screenshot.
#
#   bash tests/browser/run.sh HEATLAKE_BINARY
#
# Installs Debian's chromium (apt-get) and the npm packages (npm ci) when they are missing, and
# checks that tracker/dist/heatlake.js is the build of tracker/src and within its size budget.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
heatlake=$(realpath "${1:?usage: tests/browser/run.sh HEATLAKE_BINARY}")

# Seconds to wait for the collector to answer /readyz.
readonly SERVE_START_SECONDS_MAX=60

if ! command -v chromium >/dev/null 2>&1; then
    echo "installing Debian's chromium"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
chromium --version 2>/dev/null || true
for dir in tracker tests/browser; do
    if [[ ! -d $dir/node_modules ]] || ! (cd "$dir" && npm ls --depth=0 >/dev/null 2>&1); then
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    fi
done
(cd tracker && node build.mjs --check)

work=$(mktemp -d -t heatlake-browser.XXXXXX)
serve_pid=""
cleanup() {
    if [[ -n $serve_pid ]] && kill -0 "$serve_pid" 2>/dev/null; then
        kill "$serve_pid" 2>/dev/null || true
        wait "$serve_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
collector="http://127.0.0.1:$port/"
HEATLAKE_HOME="$work/data" HEATLAKE_LISTEN="127.0.0.1:$port" HEATLAKE_TABLE="$work/events" \
    "$heatlake" serve --config tests/browser/collector.toml >"$work/serve.log" 2>&1 &
serve_pid=$!
for ((i = 0; i < SERVE_START_SECONDS_MAX * 5; i++)); do
    if curl -fsS "${collector}readyz" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$serve_pid" 2>/dev/null; then break; fi
    sleep 0.2
done
if ! curl -fsS "${collector}readyz" >/dev/null 2>&1; then
    echo "tests/browser/run.sh: heatlake serve did not become ready on $collector:" >&2
    cat "$work/serve.log" >&2
    exit 1
fi
echo "collector at $collector, table $work/events"

status=0
node tests/browser/tracker.test.mjs --collector "$collector" --table "$work/events" --heatlake "$heatlake" || status=$?
# The HTML report needs no collector; its screenshot is kept (in $REPORT_SCREENSHOT_DIR if set,
# else a new temporary directory) and its path printed.
report_status=0
node tests/browser/report.test.mjs --heatlake "$heatlake" ${REPORT_SCREENSHOT_DIR:+--out "$REPORT_SCREENSHOT_DIR"} || report_status=$?
if [[ $status -ne 0 ]]; then
    echo "--- heatlake serve log ---" >&2
    tail -50 "$work/serve.log" >&2
fi
if [[ $status -eq 0 ]]; then status=$report_status; fi
exit $status
