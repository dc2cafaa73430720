#!/usr/bin/env bash
# Runs the whole test suite against real servers.
#
# PostgreSQL: uses $SUPPORT_GATEWAY_TEST_PG if set, else the local server at
# 127.0.0.1:5432 (database `test`) when it answers, else installs Debian's
# postgresql package if needed and starts a throw-away cluster for this run.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}

pg_ready() {
  "$VENV/bin/python" - "$1" <<'PY' >/dev/null 2>&1
import sys, psycopg
psycopg.connect(sys.argv[1].replace("postgresql+psycopg", "postgresql"), connect_timeout=3).close()
PY
}

cleanup=()
trap 'for c in "${cleanup[@]}"; do eval "$c"; done' EXIT

if [ -z "${SUPPORT_GATEWAY_TEST_PG:-}" ]; then
  default_url="postgresql+psycopg://postgres@127.0.0.1:5432/test"
  if pg_ready "$default_url"; then
    export SUPPORT_GATEWAY_TEST_PG="$default_url"
  else
    echo "test.sh: no PostgreSQL at 127.0.0.1:5432; starting a throw-away cluster" >&2
    if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
      if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
      else
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
      fi
    fi
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    dir=$(mktemp -d /tmp/sg-pg.XXXXXX)
    port=55432
    run_as=()
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; run_as=(runuser -u postgres --); fi
    "${run_as[@]}" "$bin/initdb" -D "$dir/data" -A trust -U postgres --no-sync >/dev/null
    "${run_as[@]}" "$bin/pg_ctl" -D "$dir/data" -w -l "$dir/log" \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
    cleanup+=("${run_as[*]} $bin/pg_ctl -D $dir/data -m immediate stop >/dev/null 2>&1; rm -rf $dir")
    "${run_as[@]}" "$bin/createdb" -h 127.0.0.1 -p $port -U postgres test
    export SUPPORT_GATEWAY_TEST_PG="postgresql+psycopg://postgres@127.0.0.1:$port/test"
  fi
fi
echo "test.sh: PostgreSQL for tests: $SUPPORT_GATEWAY_TEST_PG" >&2

# Dovecot for the IMAP tests (issue 3): Debian's dovecot-imapd; each test module runs
# a private instance on a free loopback port (tests/support/dovecot.py).
if ! command -v dovecot >/dev/null 2>&1 && [ ! -x /usr/sbin/dovecot ]; then
  echo "test.sh: installing dovecot-imapd for the IMAP tests" >&2
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null
  fi
fi
# Postfix for the LMTP test (issue 12): Debian's postfix, never configured or started as the
# system's MTA ("No configuration"); tests/support/postfix.py runs a private instance.
if [ ! -x /usr/sbin/postfix ]; then
  echo "test.sh: installing postfix for the LMTP test" >&2
  as_root=()
  if [ "$(id -u)" != 0 ]; then as_root=(sudo); fi
  echo "postfix postfix/main_mailer_type select No configuration" | "${as_root[@]}" debconf-set-selections
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix >/dev/null
fi
# Chromium for the quarterly report's rendering test (issue 14): Debian's chromium, run headless
# by tests/integration/test_quarterly_browser.py to lay the HTML out as a mail client's viewer would.
if ! command -v chromium >/dev/null 2>&1; then
  echo "test.sh: installing chromium for the quarterly report rendering test" >&2
  as_root=()
  if [ "$(id -u)" != 0 ]; then as_root=(sudo); fi
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
"$VENV/bin/python" -m pytest "$@"
