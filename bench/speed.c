#include "bench/speed.h"
#include "kernels/adamw.h"
#include "kernels/gemm.h"
#include "models/model.h"
#include "util/error.h"
#include "util/rng.h"
#include "util/timer.h"
#include <stdlib.h>
#include <string.h>

int measure_train_speed(const ModelConfig *cfg, int batch, int steps, int threads, int precision,
                        TrainSpeed *out) {
    memset(out, 0, sizeof *out);
    kernels_set_threads(threads);
    int rc = gemm_precision_check((Precision)precision);
    if (rc) return rc;
    Model m;
    rc = model_create(&m, cfg, 0, 1);
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
    out->precision = precision;
    out->sgemm_flops = gemm_peak_flops(PRECISION_F32, 512, 0.5);
    out->bf16_flops = gemm_precision_check(PRECISION_BF16) ? 0 : gemm_peak_flops(PRECISION_BF16, 512, 0.5);
    double peak = precision == PRECISION_BF16 ? out->bf16_flops : out->sgemm_flops;
    /* CPU time and page faults over the timed steps: faults after warm-up would show
     * memory mapped afresh each step */
    double cpu0 = 0;
    PageFaults faults0 = {0, 0};
    for (int step = 0; step < warmup + steps; step++) {
        if (step == warmup) cpu0 = cpu_seconds(), faults0 = page_faults();
        double t0 = now_seconds();
        params_zero_grad(&m.params);
        gemm_step_begin((Precision)precision);
        model_forward(&m, tokens, targets, batch, T);
        double t1 = now_seconds();
        model_backward(&m);
        gemm_step_end();
        double t2 = now_seconds();
        params_adamw_step(&m.params, &s, step + 1);
        double t3 = now_seconds();
        if (step < warmup) continue;
        out->forward_seconds += t1 - t0;
        out->backward_seconds += t2 - t1;
        out->optimizer_seconds += t3 - t2;
    }
    double cpu1 = cpu_seconds();
    PageFaults faults1 = page_faults();
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
    out->mfu = out->train_tok_s * acc.train_flops_per_token / peak;
    out->train_cpu_tok_s = (double)N * steps / (cpu1 - cpu0);
    out->faults_per_step = (double)(faults1.minor + faults1.major - faults0.minor - faults0.major) / steps;
    out->ram_params = acc.ram_params;
    out->rom_weights = acc.rom_weights;
    free(tokens);
    free(targets);
    model_free(&m);
    return OK;
}
