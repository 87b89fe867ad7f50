-- The results store of the meki harness, schema version 1 (PRAGMA user_version).
-- runner/store.c applies this same text to a new database (tests/test_store.c checks
-- that the two agree); a change here needs a new version and a migration there.
-- Times are UTC ISO 8601 text; NaN figures are stored as NULL.

CREATE TABLE IF NOT EXISTS environment (
    id TEXT PRIMARY KEY,            -- hash of the other columns: one row per distinct machine setup
    host TEXT NOT NULL,
    cpu_model TEXT NOT NULL,
    cores INTEGER NOT NULL,
    openblas TEXT NOT NULL,         -- openblas_get_config(): version, build options, core
    threads INTEGER NOT NULL,       -- threads the runs were given
    first_seen TEXT NOT NULL
);

-- One row per resolved configuration: the hash of its canonical JSON identifies it, so a
-- configuration that two experiments share is trained once (see run_experiments).
CREATE TABLE IF NOT EXISTS runs (
    hash TEXT PRIMARY KEY,
    experiment TEXT NOT NULL,       -- the experiment that first ran it
    variant TEXT NOT NULL,          -- its sweep point, e.g. "memory.kind=meki"; "base" without axes
    config_json TEXT NOT NULL,      -- the fully resolved configuration
    seed INTEGER NOT NULL,
    git_revision TEXT NOT NULL,     -- git rev-parse HEAD, "-dirty" if modified, "unknown" outside git
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    threads INTEGER NOT NULL,
    environment TEXT REFERENCES environment(id),
    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed', 'diverged')),
    error TEXT,                     -- why a run failed or diverged
    started_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs(status);

-- Which experiments (and under which variant label) a run belongs to.
CREATE TABLE IF NOT EXISTS run_experiments (
    hash TEXT NOT NULL REFERENCES runs(hash),
    experiment TEXT NOT NULL,
    variant TEXT NOT NULL,
    PRIMARY KEY (hash, experiment)
) WITHOUT ROWID;

-- Per-step training curve.
CREATE TABLE IF NOT EXISTS curves (
    hash TEXT NOT NULL REFERENCES runs(hash),
    step INTEGER NOT NULL,
    tokens INTEGER NOT NULL,
    train_loss REAL,
    val_loss REAL,                  -- NULL on steps without validation
    lr REAL,
    tok_s REAL,
    PRIMARY KEY (hash, step)
) WITHOUT ROWID;

-- Final figures, one row per name (val_loss, val_ppl, train_tok_s, mfu, ram_params,
-- rom_weights, rom_bytes, decode_tok_s, ...); the unit says how to read the value.
CREATE TABLE IF NOT EXISTS metrics (
    hash TEXT NOT NULL REFERENCES runs(hash),
    name TEXT NOT NULL,
    value REAL,
    unit TEXT NOT NULL,
    PRIMARY KEY (hash, name)
) WITHOUT ROWID;

-- What each experiment file planned and how the report analyses it ([analysis]), written
-- by every sweep of it; outside any run's identity. Added to version 1 in place
-- (CREATE IF NOT EXISTS on open): older readers ignore it, the report reads it if there.
CREATE TABLE IF NOT EXISTS experiment_plans (
    experiment TEXT PRIMARY KEY,
    seeds INTEGER NOT NULL,         -- seeds per variant
    runs INTEGER NOT NULL,          -- distinct runs of the grid
    baseline TEXT                   -- [analysis] baseline "section.key=value"; NULL: the report's default
) WITHOUT ROWID;

-- Each zero-shot item's correctness per run (bit 0 acc, bit 1 acc_norm of the task's
-- items as built from the held-out text): every seed scores the same items, so the
-- report's intervals take items as the unit. Added to version 1 in place, like the above.
CREATE TABLE IF NOT EXISTS item_scores (
    hash TEXT NOT NULL REFERENCES runs(hash),
    task TEXT NOT NULL,
    item INTEGER NOT NULL,          -- index in the task's items
    correct INTEGER NOT NULL,       -- 1: right by acc
    correct_norm INTEGER NOT NULL,  -- 1: right by acc_norm (acc for a task without it)
    PRIMARY KEY (hash, task, item)
) WITHOUT ROWID;

PRAGMA user_version = 1;
