#!/usr/bin/env bash
# Installs (if missing) and starts the services the test suite needs: PostgreSQL and Redis, on loopback;
# installs Dovecot (dovecot-imapd), which the tests start themselves.
# Prints the environment variables that point the tests at them.
set -euo pipefail

need_install=()
command -v pg_ctlcluster >/dev/null 2>&1 || need_install+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need_install+=(redis-server)
# Dovecot: the tests start throwaway IMAP servers of their own on free loopback ports
# (tests/engine/conftest.py), each with its own configuration; the package's own service is not used.
[ -x /usr/sbin/dovecot ] || need_install+=(dovecot-imapd)
# curl: the README walk-through test runs the README's curl lines (HTTP, and IMAP APPEND for the reply).
command -v curl >/dev/null 2>&1 || need_install+=(curl)
if ((${#need_install[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${need_install[@]}" >&2
fi

# PostgreSQL: the distribution's default cluster, a password for the postgres role, loopback only.
version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h | grep -q "^$version main"; then
  pg_createcluster "$version" main >&2
fi
if ! pg_lsclusters -h | grep "^$version main" | grep -q online; then
  pg_ctlcluster "$version" main start >&2
fi
for _ in $(seq 1 30); do
  su postgres -c "psql -qtAc 'select 1'" >/dev/null 2>&1 && break
  sleep 1
done
su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null

# Redis on its default port, no persistence (test data only).
if ! redis-cli -p 6379 ping >/dev/null 2>&1; then
  redis-server --port 6379 --bind 127.0.0.1 --save '' --appendonly no --daemonize yes >&2
  for _ in $(seq 1 30); do
    redis-cli -p 6379 ping >/dev/null 2>&1 && break
    sleep 0.2
  done
fi

echo "export FLUENZR_TEST_POSTGRES_URL=postgresql://postgres:postgres@127.0.0.1:5432/postgres"
echo "export FLUENZR_TEST_REDIS_URL=redis://127.0.0.1:6379/0"
