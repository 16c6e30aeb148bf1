#!/usr/bin/env bash
# Make a local PostgreSQL available for the test suite (tests/db_fixtures.py).
#
# Debian 12 (root or sudo). Idempotent and quick when everything is in place:
#   1. install the `postgresql` package if no server is installed;
#   2. start the cluster listening on the port (create one if there is none);
#   3. create or update the role did_agents (password did_agents, superuser:
#      the tests create schemas and bypass the audit triggers to clean up) and
#      the database did_agents_test owned by it.
# It exports nothing: the tests' default URL is
#   postgresql+psycopg://did_agents:did_agents@127.0.0.1:5432/did_agents_test
# Optional input: DID_AGENTS_PG_PORT (default 5432).
set -euo pipefail

PORT="${DID_AGENTS_PG_PORT:-5432}"
ROLE=did_agents
PASSWORD=did_agents
DATABASE=did_agents_test

log() { printf '[postgres.sh] %s\n' "$*" >&2; }

if [ "$(id -u)" -eq 0 ]; then
    as_root() { "$@"; }
    as_postgres() { runuser -u postgres -- "$@"; }
else
    as_root() { sudo "$@"; }
    as_postgres() { sudo -u postgres "$@"; }
fi

server_installed() {
    command -v pg_lsclusters >/dev/null 2>&1 && compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null
}

if ! server_installed; then
    log "installing postgresql"
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql
fi

# pg_lsclusters -h: "<version> <cluster> <port> <status> <owner> <data dir> <log>"
cluster_line() { pg_lsclusters -h | awk -v port="$PORT" '$3 == port { print; exit }'; }

line="$(cluster_line)"
if [ -z "$line" ]; then
    if [ -n "$(pg_lsclusters -h)" ]; then
        log "no cluster on port $PORT (clusters: $(pg_lsclusters -h | awk '{print $1 "/" $2 ":" $3}' | xargs))"
        exit 1
    fi
    version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
    log "creating cluster $version/main on port $PORT"
    as_root pg_createcluster "$version" main --port "$PORT"
    line="$(cluster_line)"
fi
read -r version cluster _port status _rest <<<"$line"

if [ "$status" != "online" ]; then
    log "starting cluster $version/$cluster"
    as_root pg_ctlcluster "$version" "$cluster" start
fi

for _ in $(seq 1 60); do
    if pg_isready -q -h 127.0.0.1 -p "$PORT"; then
        break
    fi
    sleep 0.5
done
pg_isready -h 127.0.0.1 -p "$PORT" >/dev/null || { log "server on port $PORT is not accepting connections"; exit 1; }

psql_admin() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -h /var/run/postgresql -p "$PORT" "$@"; }

psql_admin -d postgres <<SQL
DO \$\$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') THEN
        CREATE ROLE $ROLE LOGIN SUPERUSER PASSWORD '$PASSWORD';
    ELSE
        ALTER ROLE $ROLE LOGIN SUPERUSER PASSWORD '$PASSWORD';
    END IF;
END
\$\$;
SQL

if [ "$(psql_admin -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'")" != "1" ]; then
    log "creating database $DATABASE"
    psql_admin -d postgres -c "CREATE DATABASE $DATABASE OWNER $ROLE"
fi

log "ready: postgresql://$ROLE:***@127.0.0.1:$PORT/$DATABASE ($version/$cluster)"
