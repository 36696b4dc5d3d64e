#!/bin/sh
# Temporal's two PostgreSQL databases: created on the first run, migrated to the schema version the
# admin-tools image ships (which matches the server image's version) on every run.
set -eu
SCHEMA=/etc/temporal/schema/postgresql/v12

sql() {
  # SQL_PASSWORD comes from the environment, never from the command line.
  temporal-sql-tool --plugin postgres12 --ep postgresql -p 5432 -u temporal "$@"
}

for db in temporal temporal_visibility; do
  sql --db "$db" create || echo "database $db already exists"
done
sql --db temporal setup-schema -v 0.0
sql --db temporal update-schema -d "$SCHEMA/temporal/versioned"
sql --db temporal_visibility setup-schema -v 0.0
sql --db temporal_visibility update-schema -d "$SCHEMA/visibility/versioned"
echo "Temporal schema is up to date"
