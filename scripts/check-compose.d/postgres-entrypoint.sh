#!/bin/sh
# What the official postgres image's entrypoint does that deploy/compose.yaml relies on: a new
# data folder gets POSTGRES_USER (a superuser, with POSTGRES_PASSWORD, over TCP by password) and
# POSTGRES_DB; then the server runs as postgres, listening on every interface.
set -eu
user=${POSTGRES_USER:-postgres}
db=${POSTGRES_DB:-$user}
mkdir -p "$PGDATA" /run/postgresql
chown -R postgres:postgres "$PGDATA" /run/postgresql
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}"
  pwfile=$(mktemp) && printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile" && chown postgres "$pwfile"
  runuser -u postgres -- initdb -D "$PGDATA" -U "$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 >&2
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  runuser -u postgres -- pg_ctl -D "$PGDATA" -w -o "-c listen_addresses=''" start >&2
  [ "$db" = postgres ] || runuser -u postgres -- createdb -h /run/postgresql -U "$user" "$db"
  runuser -u postgres -- pg_ctl -D "$PGDATA" -w stop >&2
fi
exec runuser -u postgres -- postgres -D "$PGDATA" -c listen_addresses='*'
