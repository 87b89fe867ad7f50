/* ./meki db merge|export: combine shard databases, export runs for spreadsheets. */
#include "bench/args.h"
#include "bench/commands.h"
#include "runner/export.h"
#include "runner/store.h"
#include "util/error.h"
#include "util/fileio.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int exit_code(int rc) { return rc == OK ? 0 : rc == ERR_INPUT ? 2 : 1; }

/* A database file and SQLite's companions beside it. */
static void remove_database_files(const char *path) {
    static const char *const SUFFIXES[] = {"", "-wal", "-shm", "-journal"};
    char name[4400];
    for (size_t i = 0; i < sizeof SUFFIXES / sizeof SUFFIXES[0]; i++) {
        snprintf(name, sizeof name, "%s%s", path, SUFFIXES[i]);
        unlink(name);
    }
}

/* Renames a closed database into place; a WAL still beside it (its last checkpoint failed,
 * e.g. on a full disk) holds part of the content, so the file alone is not whole. */
static int install_database(const char *temp, const char *out) {
    char wal[4400];
    snprintf(wal, sizeof wal, "%s-wal", temp);
    if (file_exists(wal)) return error_set(ERR_FAILURE, "%s: the merged database could not be completed (is the disk full?)", out);
    if (rename(temp, out) != 0) return error_set(ERR_FAILURE, "cannot rename %s to %s: %s", temp, out, strerror(errno));
    return OK;
}

static int db_merge_inputs(int argc, char **argv, ArgList *list) {
    const char *out = NULL;
    ArgList inputs = *list;
    const ArgSpec specs[] = {
        {"-o", ARG_STRING, &out, "the merged database (created if missing; may already hold runs)", 0, 0},
    };
    int rc = args_parse(argc, argv, specs, 1, list, "A.db B.db ... -o OUT.db");
    inputs = *list;
    if (rc) return rc == 1 ? 0 : 2;
    if (!out || inputs.count == 0) {
        fprintf(stderr, "meki db merge: expected input databases and -o OUT.db\n");
        return 2;
    }
    if (args_check_out_file("db merge", "-o", out)) return 2;
    for (int i = 0; i < inputs.count; i++)
        if (args_check_in_file("db merge", "input", inputs.items[i])) return 2;
    /* a new -o is built under a temporary name and renamed into place when whole: a damaged
     * input or a full disk leaves no empty or half-written database behind */
    int fresh = !file_exists(out);
    char temp[4300];
    if (fresh) {
        remove_stale_temps(out);
        if (temp_name(temp, sizeof temp, out)) die(2, "%s", error_message());
    }
    Store *store = NULL;
    rc = store_open(&store, fresh ? temp : out);
    int total = 0;
    for (int i = 0; i < inputs.count && rc == OK; i++) {
        int taken;
        rc = store_merge(store, inputs.items[i], &taken);
        if (rc == OK) fprintf(stderr, "merged %s: %d runs taken\n", inputs.items[i], taken);
        total += taken;
    }
    if (store) store_close(store);
    if (fresh && !rc) rc = install_database(temp, out);
    if (fresh && rc) remove_database_files(temp);
    const char *message = error_message();
    if (rc && fresh && !strncmp(message, temp, strlen(temp)))   /* named as the user gave it */
        fprintf(stderr, "meki: %s%s\n", out, message + strlen(temp));
    else if (rc) fprintf(stderr, "meki: %s\n", message);
    else fprintf(stderr, "%s: %d runs taken from %d databases\n", out, total, inputs.count);
    return exit_code(rc);
}

static int db_merge(int argc, char **argv) {
    ArgList inputs = {0};
    int rc = db_merge_inputs(argc, argv, &inputs);
    arglist_free(&inputs);
    return rc;
}

static int db_export(int argc, char **argv) {
    const char *db = "results/meki.db";
    int csv = 0, curves = 0;
    const ArgSpec specs[] = {
        {"--csv", ARG_FLAG, &csv, "CSV to stdout (the default and only format): one row per run, params.* and metric columns", 0, 0},
        {"--db", ARG_STRING, &db, "results database (default results/meki.db)", 0, 0},
        {"--curves", ARG_FLAG, &curves, "the learning curves, one row per run and step, instead of one row per run", 0, 0},
    };
    int rc = args_parse(argc, argv, specs, 3, NULL, "[--csv] [--curves] [--db PATH]");
    if (rc) return rc == 1 ? 0 : 2;
    (void)csv;   /* CSV is the only format: the flag is accepted, never required */
    if (args_check_in_file("db export", "--db", db)) return 2;
    Store *store;
    if ((rc = store_open_readonly(&store, db))) die(exit_code(rc), "%s", error_message());
    /* runs: identity flattened to params.<key>, metric headers with units (runner/export.c) */
    rc = curves ? export_curves_csv(store, stdout) : export_runs_csv(store, stdout);
    if (rc) fprintf(stderr, "meki db export: %s\n", error_message());
    store_close(store);
    return exit_code(rc);
}

int cmd_db(int argc, char **argv) {
    /* the sub-subcommand becomes argv[0], named in messages as "meki db merge: ..." */
    if (argc >= 2 && !strcmp(argv[1], "merge")) return argv[1] = (char *)"db merge", db_merge(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "export")) return argv[1] = (char *)"db export", db_export(argc - 1, argv + 1);
    FILE *out = argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) ? stdout : stderr;
    fprintf(out, "usage: ./meki db merge A.db B.db ... -o OUT.db\n"
                 "       ./meki db export [--csv] [--curves] [--db PATH]\n");
    return out == stdout ? 0 : 2;
}
