/* ./meki sweep FILE.ini: every run of an experiment's grid, recorded in the results database. */
#include "bench/args.h"
#include "bench/commands.h"
#include "bench/measure.h"
#include "models/memory.h"
#include "runner/experiment.h"
#include "runner/store.h"
#include "runner/sweep.h"
#include "runner/sweep_dist.h"
#include "util/dist.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/json.h"
#include <stdio.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DEFAULT_DB "results/meki.db"

static int parse_shard(const char *text, int *index, int *count) {
    char *slash;
    long i = strtol(text, &slash, 10), n = 0;
    if (slash != text && *slash == '/') {
        char *end;
        n = strtol(slash + 1, &end, 10);
        if (*end || end == slash + 1) n = 0;
    }
    if (n < 1 || i < 0 || i >= n || n > 100000) {
        fprintf(stderr, "meki sweep: bad --shard '%s' (expected I/N with 0 <= I < N)\n", text);
        return 2;
    }
    *index = (int)i;
    *count = (int)n;
    return 0;
}

static void settings_summary(char *out, size_t size, const RunSettings *s) {
    const ModelConfig *m = &s->model;
    int used = snprintf(out, size, "d%d L%d V%d %s", m->d_model, m->n_layers, m->vocab_size,
                        memory_kind_name(m->memory));
    const MemoryOps *ops = memory_ops(m->memory);
    for (int i = 0; ops && i < ops->n_report_columns && used > 0 && (size_t)used < size; i++) {
        const ReportColumn *r = &ops->report_columns[i];
        for (int f = 0; r->brief && f < model_config_field_count(); f++) {
            if (strcmp(model_config_field_key(f), r->key)) continue;
            char value[128];
            model_config_field_value(m, f, value, sizeof value);
            used += snprintf(out + used, size - (size_t)used, " %s %s", strchr(r->key, '.') + 1, value);
        }
    }
}

/* Status of each run in an existing database, for the dry-run listing; "" if none. */
static void dry_run_status(Store *store, const ResolvedRun *run, char *status, int size) {
    status[0] = 0;
    if (store && store_run_status(store, run->hash, status, size)) status[0] = 0;
    if (!status[0]) snprintf(status, (size_t)size, "new");
}

static int dry_run(const ExperimentConfig *exp, const char *db, int shard_index, int shard_count, int json) {
    Store *store = NULL;
    if (file_exists(db) && store_open_readonly(&store, db)) store = NULL;   /* listing without statuses */
    Json out;
    json_begin(&out);
    json_string(&out, "experiment", exp->name);
    size_t used = 1, capacity = 4096;
    char *runs = malloc(capacity);
    if (!runs) { store_close(store); die(1, "out of memory"); }
    strcpy(runs, "[");
    char runs_dir[4096];
    int left_running = 0;
    sweep_runs_dir(db, runs_dir, sizeof runs_dir);
    if (!json) printf("%s: %d runs (%s)\n%-4s %-16s %-8s %-6s %-28s %-10s %s\n", exp->name, exp->n_runs, exp->path,
                      "#", "hash", "status", "seed", "model", "tokens", "variant");
    for (int r = 0; r < exp->n_runs; r++) {
        const ResolvedRun *run = &exp->runs[r];
        char status[16], model[128];
        if (!sweep_selects(r, shard_index, shard_count)) continue;
        dry_run_status(store, run, status, sizeof status);
        left_running += !strcmp(status, "running") && !sweep_run_held(runs_dir, run->hash);
        settings_summary(model, sizeof model, &run->settings);
        if (!json) {
            printf("%-4d %-16s %-8s %-6llu %-28s %-10ld %s\n", r, run->hash, status,
                   (unsigned long long)run->settings.train.seed, model, run->settings.train.tokens, run->variant);
            continue;
        }
        Json item;
        json_begin(&item);
        json_string(&item, "hash", run->hash);
        json_string(&item, "variant", run->variant);
        json_string(&item, "status", status);
        json_raw(&item, "config", run->config_json);
        const char *text = json_end(&item);
        size_t need = used + strlen(text) + 3;
        if (need > capacity) {
            capacity = need * 2;
            char *grown = realloc(runs, capacity);
            if (!grown) { free(runs); json_free(&item); store_close(store); die(1, "out of memory"); }
            runs = grown;
        }
        used += (size_t)sprintf(runs + used, "%s%s", used > 1 ? "," : "", text);
        json_free(&item);
    }
    strcpy(runs + used, "]");
    json_raw(&out, "runs", runs);
    if (json) printf("%s\n", json_end(&out));
    if (left_running)   /* a kill or a lost MPI rank leaves its run marked running */
        fprintf(stderr, "note: %d run%s marked running but no sweep is running %s (left by an interrupted sweep): "
                "running this sweep resumes %s from %s checkpoint%s\n", left_running, left_running > 1 ? "s" : "",
                left_running > 1 ? "them" : "it", left_running > 1 ? "them" : "it", left_running > 1 ? "their" : "its",
                left_running > 1 ? "s" : "");
    free(runs);
    json_free(&out);
    store_close(store);
    return 0;
}

static void print_summary(const ExperimentConfig *exp, const SweepSummary *s, int json, int rc) {
    fprintf(stderr, "sweep %s: %d of %d runs selected: %d done, %d finished before, %d failed, %d diverged, "
            "%d busy elsewhere (%.1fs)%s%s\n", exp->name, s->selected, s->grid, s->done, s->skipped, s->failed,
            s->diverged, s->busy, s->seconds, rc ? "; stopped: " : "", rc ? error_message() : "");
    if (!json) return;
    Json out;
    json_begin(&out);
    json_string(&out, "experiment", exp->name);
    json_int(&out, "runs", s->grid);
    json_int(&out, "selected", s->selected);
    json_int(&out, "done", s->done);
    json_int(&out, "skipped", s->skipped);
    json_int(&out, "failed", s->failed);
    json_int(&out, "diverged", s->diverged);
    json_int(&out, "busy", s->busy);
    json_number(&out, "seconds", s->seconds);
    if (rc) json_string(&out, "error", error_message());
    printf("%s\n", json_end(&out));
    json_free(&out);
}

/* An MPI worker (a group's first rank, or with member set another rank of a group): no database, runs in the database's folder (a shared file system). */
static int sweep_worker(const ExperimentConfig *exp, const char *db, int threads, int retry, int member) {
    SweepContext ctx;
    char copy[4096];
    memset(&ctx, 0, sizeof ctx);
    snprintf(copy, sizeof copy, "%s", db);
    snprintf(ctx.runs_dir, sizeof ctx.runs_dir, "%s/runs", dirname(copy));
    ctx.threads = ctx.recorded_threads = threads;
    ctx.quiet = 1;
    ctx.measure = measure_run;
    ctx.retry_diverged = retry;
    int rc = member ? sweep_dist_member(&ctx, exp) : sweep_dist_worker(&ctx, exp);
    if (rc) fprintf(stderr, "meki sweep (rank %d): %s\n", dist_world_rank(), error_message());
    return rc;
}

static int sweep_main(int argc, char **argv, ArgList *files) {
    const char *db = DEFAULT_DB, *shard = NULL;
    int dry = 0, json = 0, threads = 0, quiet = 0, retry = 0, shard_index = 0, shard_count = 1, per_run = 1;
    const ArgSpec specs[] = {
        {"--db", ARG_STRING, &db, "results database (default results/meki.db; runs go beside it in runs/)", 0, 0},
        {"--dry-run", ARG_FLAG, &dry, "list the resolved runs and their status; run nothing", 0, 0},
        {"--shard", ARG_STRING, &shard, "I/N: only the runs whose position is I modulo N (0 <= I < N)", 0, 0},
        {"--threads", ARG_INT, &threads, "threads per run (default: all cores)", 0, 1024},
        {"--quiet", ARG_FLAG, &quiet, "no progress from the runs themselves", 0, 0},
        {"--ranks-per-run", ARG_INT, &per_run, "under mpirun: K ranks train each run together (data-parallel; "
                                               "K divides the job's ranks; default 1)", 1, 65536},
        {"--retry-diverged", ARG_FLAG, &retry, "run diverged runs again (failed ones always are)", 0, 0},
        {"--json", ARG_FLAG, &json, "print the summary as one JSON line last", 0, 0},
    };
    int rc = args_parse(argc, argv, specs, sizeof specs / sizeof specs[0], files, "FILE.ini [options]");
    if (rc) return rc == 1 ? 0 : 2;
    if (files->count != 1) {
        fprintf(stderr, "meki sweep: expected one experiment file (see ./meki sweep --help)\n");
        return 2;
    }
    if (shard && parse_shard(shard, &shard_index, &shard_count)) return 2;
    /* a dry run only reads the database (a missing one lists every run as new); a sweep
     * creates or updates it: either way a folder there is the caller's mistake */
    struct stat db_stat;
    if (dry ? stat(db, &db_stat) == 0 && args_check_in_file("sweep", "--db", db) : args_check_out_file("sweep", "--db", db))
        return 2;
    if (args_check_in_file("sweep", "experiment file", files->items[0])) return 2;
    ExperimentConfig *exp = malloc(sizeof *exp);
    if (!exp) die(1, "out of memory");
    if ((rc = experiment_load(exp, files->items[0]))) {
        free(exp);
        die(rc, "%s", error_message());
    }
    if (per_run > 1 && !dist_world_active()) {
        fprintf(stderr, "meki sweep: --ranks-per-run %d needs an MPI job of a multiple of %d ranks "
                        "(mpirun -np %d ./meki sweep ...)\n", per_run, per_run, 2 * per_run);
        experiment_free(exp);
        free(exp);
        return 2;
    }
    if (dist_world_active()) {   /* under mpirun: each rank (or group) trains whole runs (see sweep_dist.h) */
        if (sweep_dist_groups(per_run)) {
            if (dist_world_rank() == 0) fprintf(stderr, "meki sweep: --ranks-per-run: %s\n", error_message());
            experiment_free(exp);
            free(exp);
            return 2;
        }
        if (threads <= 0) threads = dist_default_threads();
        if (dist_world_rank() > 0) {
            rc = dry ? OK : sweep_dist_role() == 1 ? sweep_worker(exp, db, threads, retry, 0)
                                                   : sweep_worker(exp, db, threads, retry, 1);
            experiment_free(exp);
            free(exp);
            return rc == OK ? 0 : rc == ERR_INPUT ? 2 : 1;
        }
    }
    if (dry) {
        rc = dry_run(exp, db, shard_index, shard_count, json);
        experiment_free(exp);
        free(exp);
        return rc;
    }
    Store *store;
    SweepContext ctx;
    SweepSummary summary = {0};
    if ((rc = store_open(&store, db)) || (rc = sweep_context_init(&ctx, store, db, threads, quiet))) {
        fprintf(stderr, "meki: %s\n", error_message());
    } else {
        ctx.retry_diverged = retry;
        ctx.measure = measure_run;
        /* under mpirun rank 0 hands the pending runs out over the ranks (see sweep_dist.h) */
        rc = sweep_run(&ctx, exp, shard_index, shard_count, dist_world_active() ? sweep_dist_pending : NULL, &summary);
        print_summary(exp, &summary, json, rc);
    }
    if (!dry) sweep_dist_release();   /* MPI workers stop (or the job ends if rank 0 failed) */
    store_close(store);
    experiment_free(exp);
    free(exp);
    if (rc) return rc == ERR_INPUT ? 2 : 1;
    return summary.failed || summary.diverged ? 1 : 0;
}

int cmd_sweep(int argc, char **argv) {
    ArgList files = {0};
    int rc = sweep_main(argc, argv, &files);
    arglist_free(&files);
    return rc;
}
