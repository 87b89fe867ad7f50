/* ./meki runs: the runs recorded in a results database, as a table or JSON. */
#include "bench/args.h"
#include "bench/commands.h"
#include "runner/store.h"
#include "runner/sweep.h"
#include "util/error.h"
#include "util/json.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int json, count;
    const char *metric;         /* the table's figure column */
    char *array;                /* JSON mode: the rows so far, "[{...},{...}" */
    size_t used, capacity;
    char runs_dir[4096];
    int left_running;           /* runs marked running that no process holds */
    char left[4][160];          /* the first few of them, for the note */
} Listing;

/* A run marked running whose folder lock nobody holds was left by an interrupted sweep
 * (kill, a lost MPI rank): the listing says so and how to resume, else it looked alive. */
static void note_running(Listing *l, const RunRow *row) {
    if (strcmp(row->status, "running") || sweep_run_held(l->runs_dir, row->hash)) return;
    if (l->left_running < 4)
        snprintf(l->left[l->left_running], sizeof l->left[0], "%s (experiment %s, started %s on %s)", row->hash,
                 row->experiment, row->started_at, row->host);
    l->left_running++;
}

static void print_row(void *user, const RunRow *row) {
    Listing *l = user;
    l->count++;
    note_running(l, row);
    if (!l->json) {
        char figure[32] = "-";
        double value = metrics_get(&row->metrics, l->metric);
        if (isfinite(value)) snprintf(figure, sizeof figure, "%.4f", value);
        /* an unfinished run has no finish time: its start time there read as one */
        printf("%-16s %-8s %-16s %-6llu %-8s %-20s %s%s%s\n", row->hash, row->status, row->experiment, row->seed,
               figure, row->finished_at[0] ? row->finished_at : "-", row->variant,
               row->error[0] ? "  # " : "", row->error);
        return;
    }
    Json item;
    json_begin(&item);
    json_string(&item, "hash", row->hash);
    json_string(&item, "status", row->status);
    json_string(&item, "experiment", row->experiment);
    json_string(&item, "variant", row->variant);
    json_int(&item, "seed", (long long)row->seed);
    json_string(&item, "git_revision", row->git_revision);
    json_string(&item, "host", row->host);
    json_int(&item, "threads", row->threads);
    json_string(&item, "started_at", row->started_at);
    json_string(&item, "finished_at", row->finished_at);
    json_string(&item, "error", row->error);
    Json metrics;   /* every recorded metric by name, so a new one is listed without a change here */
    json_begin(&metrics);
    for (int i = 0; i < row->metrics.count; i++)
        json_number(&metrics, row->metrics.items[i].name, row->metrics.items[i].value);
    json_raw(&item, "metrics", json_end(&metrics));
    json_free(&metrics);
    const char *text = json_end(&item);
    size_t need = l->used + strlen(text) + 3;
    if (need > l->capacity) {
        char *grown = realloc(l->array, need * 2);
        if (!grown) { json_free(&item); return; }
        l->array = grown;
        l->capacity = need * 2;
    }
    l->used += (size_t)sprintf(l->array + l->used, "%s%s", l->count > 1 ? "," : "", text);
    json_free(&item);
}

int cmd_runs(int argc, char **argv) {
    const char *db = "results/meki.db", *experiment = NULL, *status = NULL, *metric = "val_loss";
    int json = 0;
    const ArgSpec specs[] = {
        {"--db", ARG_STRING, &db, "results database (default results/meki.db)", 0, 0},
        {"--experiment", ARG_STRING, &experiment, "only the runs of this experiment", 0, 0},
        {"--status", ARG_STRING, &status, "only runs with this status: running, done, failed, diverged", 0, 0},
        {"--metric", ARG_STRING, &metric, "the metric shown in the table (default val_loss; --json lists them all)", 0, 0},
        {"--json", ARG_FLAG, &json, "one JSON object {\"runs\": [...]} instead of a table", 0, 0},
    };
    int rc = args_parse(argc, argv, specs, sizeof specs / sizeof specs[0], NULL, "[options]");
    if (rc) return rc == 1 ? 0 : 2;
    if (status && strcmp(status, "running") && strcmp(status, "done") && strcmp(status, "failed") &&
        strcmp(status, "diverged")) {
        fprintf(stderr, "meki runs: bad --status '%s' (running, done, failed, diverged)\n", status);
        return 2;
    }
    if (args_check_in_file("runs", "--db", db)) return 2;
    Store *store;
    if ((rc = store_open_readonly(&store, db))) die(rc, "%s", error_message());
    Listing l = {.json = json, .metric = metric, .array = malloc(2), .used = 1, .capacity = 2};
    if (!l.array) die(1, "out of memory");
    sweep_runs_dir(db, l.runs_dir, sizeof l.runs_dir);
    strcpy(l.array, "[");
    if (!json) printf("%-16s %-8s %-16s %-6s %-8s %-20s %s\n", "hash", "status", "experiment", "seed", metric,
                      "finished", "variant");
    rc = store_list_runs(store, experiment, status, print_row, &l);
    if (rc == OK && json) {
        Json out;
        strcpy(l.array + l.used, "]");
        json_begin(&out);
        json_int(&out, "count", l.count);
        json_raw(&out, "runs", l.array);
        printf("%s\n", json_end(&out));
        json_free(&out);
    }
    if (rc) fprintf(stderr, "meki: %s\n", error_message());
    else if (l.left_running) {
        fprintf(stderr, "note: %d run%s marked running but no sweep is running %s (left by an interrupted sweep, "
                "e.g. a kill or a lost MPI rank):\n", l.left_running, l.left_running > 1 ? "s" : "",
                l.left_running > 1 ? "them" : "it");
        for (int i = 0; i < l.left_running && i < 4; i++) fprintf(stderr, "  %s\n", l.left[i]);
        if (l.left_running > 4) fprintf(stderr, "  and %d more\n", l.left_running - 4);
        fprintf(stderr, "run the same sweep again (./meki sweep FILE.ini --db %s) to resume %s from %s\n", db,
                l.left_running > 1 ? "them" : "it", l.left_running > 1 ? "their checkpoints" : "its checkpoint");
    }
    free(l.array);
    store_close(store);
    return rc ? (rc == ERR_INPUT ? 2 : 1) : 0;
}
