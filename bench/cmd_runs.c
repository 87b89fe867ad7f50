/* ./meki runs: the runs recorded in a results database, as a table or JSON. */
#include "bench/args.h"
#include "bench/commands.h"
#include "runner/store.h"
#include "util/error.h"
#include "util/json.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int json, count;
    char *array;                /* JSON mode: the rows so far, "[{...},{...}" */
    size_t used, capacity;
} Listing;

static void print_row(void *user, const RunRow *row) {
    Listing *l = user;
    l->count++;
    if (!l->json) {
        char loss[32] = "-";
        if (isfinite(row->val_loss)) snprintf(loss, sizeof loss, "%.4f", row->val_loss);
        printf("%-16s %-8s %-16s %-6llu %-8s %-20s %s%s%s\n", row->hash, row->status, row->experiment, row->seed,
               loss, row->finished_at[0] ? row->finished_at : row->started_at, row->variant,
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
    json_number(&item, "val_loss", row->val_loss);
    json_number(&item, "val_ppl", row->val_ppl);
    json_number(&item, "train_tok_s", row->train_tok_s);
    json_number(&item, "seconds", row->seconds);
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
    const char *db = "results/meki.db", *experiment = NULL, *status = NULL;
    int json = 0;
    const ArgSpec specs[] = {
        {"--db", ARG_STRING, &db, "results database (default results/meki.db)", 0, 0},
        {"--experiment", ARG_STRING, &experiment, "only the runs of this experiment", 0, 0},
        {"--status", ARG_STRING, &status, "only runs with this status: running, done, failed, diverged", 0, 0},
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
    Listing l = {.json = json, .array = malloc(2), .used = 1, .capacity = 2};
    if (!l.array) die(1, "out of memory");
    strcpy(l.array, "[");
    if (!json) printf("%-16s %-8s %-16s %-6s %-8s %-20s %s\n", "hash", "status", "experiment", "seed", "val_loss",
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
    free(l.array);
    store_close(store);
    return rc ? (rc == ERR_INPUT ? 2 : 1) : 0;
}
