#include "bench/decode_processes.h"
#include "kernels/wquant.h"
#include "util/error.h"
#include "util/json_read.h"
#include <errno.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char *executable;

void decode_processes_set_executable(const char *exe) { executable = exe; }
const char *decode_processes_executable(void) { return executable; }

/* The child is a plain process: a launcher's variables (mpirun, srun) would make it join
 * the job as one more rank. */
static int launcher_variable(const char *entry) {
    static const char *const prefixes[] = {"OMPI_", "PMIX_", "PMI_", "SLURM_"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (!strncmp(entry, prefixes[i], strlen(prefixes[i]))) return 1;
    return 0;
}

/* The child's whole stdout into *text (NUL-terminated); its stderr goes where ours does. */
static int run_child(char *const argv[], char **text) {
    int fd[2];
    if (pipe(fd)) return error_set(ERR_FAILURE, "decode in a fresh process: pipe: %s", strerror(errno));
    size_t n_env = 0;
    while (environ[n_env]) n_env++;
    char **env = malloc(sizeof(char *) * (n_env + 1));
    if (!env) {
        close(fd[0]); close(fd[1]);
        return error_set(ERR_FAILURE, "decode in a fresh process: out of memory");
    }
    size_t k = 0;
    for (size_t i = 0; i < n_env; i++)
        if (!launcher_variable(environ[i])) env[k++] = environ[i];
    env[k] = NULL;
    posix_spawn_file_actions_t actions;
    pid_t pid;
    int rc = posix_spawn_file_actions_init(&actions);
    if (!rc) rc = posix_spawn_file_actions_adddup2(&actions, fd[1], 1);
    if (!rc) rc = posix_spawn_file_actions_addclose(&actions, fd[0]);
    if (!rc) rc = posix_spawn(&pid, argv[0], &actions, NULL, argv, env);
    posix_spawn_file_actions_destroy(&actions);
    free(env);
    close(fd[1]);
    if (rc) {
        close(fd[0]);
        return error_set(ERR_FAILURE, "decode in a fresh process: cannot start %s: %s", argv[0], strerror(rc));
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    int oom = !buf;
    for (;;) {
        if (!oom && len + 1024 > cap) {
            char *grown = realloc(buf, cap *= 2);
            if (grown) buf = grown;
            else oom = 1;
        }
        char sink[1024];
        ssize_t got = oom ? read(fd[0], sink, sizeof sink) : read(fd[0], buf + len, cap - len - 1);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        if (!oom) len += (size_t)got;
    }
    close(fd[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) { status = -1; break; }
    if (oom) {
        free(buf);
        return error_set(ERR_FAILURE, "decode in a fresh process: out of memory reading %s's output", argv[0]);
    }
    buf[len] = 0;
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status)) {
        free(buf);
        if (status != -1 && WIFSIGNALED(status))
            return error_set(ERR_FAILURE, "decode in a fresh process: %s %s %s killed by signal %d", argv[0],
                             argv[1], argv[2], WTERMSIG(status));
        return error_set(ERR_FAILURE, "decode in a fresh process: %s %s %s failed (exit status %d; its message "
                         "is above)", argv[0], argv[1], argv[2], status == -1 ? -1 : WEXITSTATUS(status));
    }
    *text = buf;
    return OK;
}

/* --json prints the figures as the last line, after the table. */
static const char *last_line(char *text) {
    size_t n = strlen(text);
    while (n && text[n - 1] == '\n') text[--n] = 0;
    char *nl = strrchr(text, '\n');
    return nl ? nl + 1 : text;
}

static int figure(const JsonValue *v, const char *key, const char *exe, double *out) {
    const JsonValue *x = json_get(v, key);
    if (!x || x->type != JSON_NUMBER || !isfinite(x->number) || x->number <= 0)
        return error_set(ERR_FAILURE, "decode in a fresh process: %s bench decode printed no positive \"%s\"",
                         exe, key);
    *out = x->number;
    return OK;
}

int decode_in_processes(const DecodeBenchOptions *o, int processes, DecodeProcessFigures *out) {
    if (!executable) return error_set(ERR_FAILURE, "decode in a fresh process: no executable set");
    if (processes < 1 || processes > DECODE_MAX_PROCESSES)
        return error_set(ERR_FAILURE, "decode in a fresh process: %d processes (1 to %d)", processes,
                         DECODE_MAX_PROCESSES);
    char context[16], tokens[16], repeats[16], warmup[16], placements[16], chunk[16], seed[24];
    snprintf(context, sizeof context, "%d", o->context);
    snprintf(tokens, sizeof tokens, "%d", o->tokens);
    snprintf(repeats, sizeof repeats, "%d", o->repeats);
    snprintf(warmup, sizeof warmup, "%d", o->warmup);
    snprintf(placements, sizeof placements, "%d", o->placements > 0 ? o->placements : 1);
    snprintf(chunk, sizeof chunk, "%d", o->chunk);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)o->seed);
    char *argv[] = {(char *)executable, "bench", "decode", "--bundle", (char *)o->bundle,
                    "--table-dtype", (char *)table_dtype_name(o->dtype),
                    "--weights-dtype", (char *)weights_dtype_name((WeightsDtype)o->weights_dtype),
                    "--context", context, "--tokens", tokens, "--repeats", repeats, "--warmup", warmup,
                    "--placements", placements, "--chunk", chunk, "--seed", seed, "--threads", "1", "--json",
                    NULL};
    double dense[DECODE_MAX_PROCESSES], folded[DECODE_MAX_PROCESSES];
    double dense_cpu[DECODE_MAX_PROCESSES], folded_cpu[DECODE_MAX_PROCESSES], ratios[DECODE_MAX_PROCESSES];
    out->processes = processes;
    for (int p = 0; p < processes; p++) {
        char *text = NULL;
        JsonValue *v = NULL;
        int rc = run_child(argv, &text);
        const char *line = rc ? NULL : last_line(text);
        if (line && json_parse(line, strlen(line), "bench decode --json", &v))
            rc = error_set(ERR_FAILURE, "decode in a fresh process: %s bench decode printed no JSON line",
                           executable);
        if (!rc) rc = figure(v, "folded_over_dense", executable, &out->over_dense[p]);
        if (!rc) rc = figure(v, "dense_decode_tok_s", executable, &dense[p]);
        if (!rc) rc = figure(v, "folded_decode_tok_s", executable, &folded[p]);
        if (!rc) rc = figure(v, "dense_decode_cpu_tok_s", executable, &dense_cpu[p]);
        if (!rc) rc = figure(v, "folded_decode_cpu_tok_s", executable, &folded_cpu[p]);
        json_value_free(v);
        free(text);
        if (rc) return rc;
        ratios[p] = out->over_dense[p];
    }
    out->median_over_dense = decode_bench_median(ratios, processes);
    out->dense_tok_s = decode_bench_median(dense, processes);
    out->folded_tok_s = decode_bench_median(folded, processes);
    out->dense_cpu_tok_s = decode_bench_median(dense_cpu, processes);
    out->folded_cpu_tok_s = decode_bench_median(folded_cpu, processes);
    return OK;
}
