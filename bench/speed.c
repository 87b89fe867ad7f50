#include "bench/speed.h"
#include "kernels/adamw.h"
#include "kernels/gemm.h"
#include "models/model.h"
#include "util/error.h"
#include "util/rng.h"
#include "util/timer.h"
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* CPU seconds and minor page faults of the process so far. CPU time leaves out the
 * moments another process holds the core (the machine is shared); faults after warm-up
 * show memory mapped afresh each step. */
static void usage_now(double *cpu, long *faults) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    *cpu = u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
    *faults = u.ru_minflt + u.ru_majflt;
}

int measure_train_speed(const ModelConfig *cfg, int batch, int steps, int threads, TrainSpeed *out) {
    memset(out, 0, sizeof *out);
    kernels_set_threads(threads);
    Model m;
    int rc = model_create(&m, cfg, 0, 1);
    if (rc) return rc;
    int T = m.cfg.seq_len, N = batch * T, warmup = 3;
    if ((rc = model_reserve(&m, batch, T))) { model_free(&m); return rc; }
    model_init_weights(&m, 1);
    int32_t *tokens = malloc(sizeof(int32_t) * N), *targets = malloc(sizeof(int32_t) * N);
    Rng rng;
    rng_seed(&rng, 1);
    for (int i = 0; i < N; i++) {
        tokens[i] = (int32_t)rng_below(&rng, (uint64_t)m.cfg.vocab_size);
        targets[i] = (int32_t)rng_below(&rng, (uint64_t)m.cfg.vocab_size);
    }
    AdamWSettings s = {1e-4f, 0.9f, 0.95f, 1e-8f, 0.1f};
    out->sgemm_flops = sgemm_peak_flops(512, 0.5);
    double cpu0 = 0, cpu1;
    long faults0 = 0, faults1;
    for (int step = 0; step < warmup + steps; step++) {
        if (step == warmup) usage_now(&cpu0, &faults0);
        double t0 = now_seconds();
        params_zero_grad(&m.params);
        model_forward(&m, tokens, targets, batch, T);
        double t1 = now_seconds();
        model_backward(&m);
        double t2 = now_seconds();
        params_adamw_step(&m.params, &s, step + 1);
        double t3 = now_seconds();
        if (step < warmup) continue;
        out->forward_seconds += t1 - t0;
        out->backward_seconds += t2 - t1;
        out->optimizer_seconds += t3 - t2;
    }
    usage_now(&cpu1, &faults1);
    Accounting acc;
    model_accounting(&m, &acc);
    double total = out->forward_seconds + out->backward_seconds + out->optimizer_seconds;
    out->steps = steps;
    out->batch = batch;
    out->seq_len = T;
    out->threads = kernels_threads();
    out->step_seconds = total / steps;
    out->train_tok_s = (double)N * steps / total;
    out->train_flops_per_token = acc.train_flops_per_token;
    out->mfu = out->train_tok_s * acc.train_flops_per_token / out->sgemm_flops;
    out->train_cpu_tok_s = (double)N * steps / (cpu1 - cpu0);
    out->faults_per_step = (double)(faults1 - faults0) / steps;
    out->ram_params = acc.ram_params;
    out->rom_weights = acc.rom_weights;
    free(tokens);
    free(targets);
    model_free(&m);
    return OK;
}
