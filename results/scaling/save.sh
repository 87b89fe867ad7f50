#!/bin/sh
# Saves the finished runs of a scaling database as SQL text in the repository, so the grid
# outlives the machine it runs on (run directories and checkpoints do not: a new machine
# starts bare). Keeps only runs with status 'done'; thins their curves to every 25th step,
# every validation point and the last step (the fit reads only the final metrics).
#   results/scaling/save.sh /work/scaling-results/scaling.db      # writes results/scaling/scaling.sql
# Restore on a new machine, before resuming the sweep (the sweep skips the finished runs):
#   mkdir -p /work/scaling-results && sqlite3 /work/scaling-results/scaling.db < results/scaling/scaling.sql
set -eu
db=${1:?usage: results/scaling/save.sh SCALING.db}
out=$(dirname "$0")/scaling.sql
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sqlite3 "$db" ".backup '$tmp/copy.db'"   # a consistent copy while a sweep writes
sqlite3 "$tmp/copy.db" <<'SQL'
DELETE FROM curves WHERE hash IN (SELECT hash FROM runs WHERE status <> 'done');
DELETE FROM metrics WHERE hash IN (SELECT hash FROM runs WHERE status <> 'done');
DELETE FROM item_scores WHERE hash IN (SELECT hash FROM runs WHERE status <> 'done');
DELETE FROM run_experiments WHERE hash IN (SELECT hash FROM runs WHERE status <> 'done');
DELETE FROM runs WHERE status <> 'done';
DELETE FROM curves WHERE val_loss IS NULL AND step % 25 <> 0
  AND step <> (SELECT MAX(step) FROM curves c WHERE c.hash = curves.hash);
SQL
sqlite3 "$tmp/copy.db" .dump > "$tmp/out.sql"
# .dump leaves out the schema version the store checks on open
echo "PRAGMA user_version = $(sqlite3 "$tmp/copy.db" "PRAGMA user_version");" >> "$tmp/out.sql"
mv "$tmp/out.sql" "$out"
echo "$out: $(sqlite3 "$tmp/copy.db" "SELECT COUNT(*) FROM runs") finished runs"
