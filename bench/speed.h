/* Training speed on synthetic batches: tokens/s over steady-state steps and MFU against
 * the GEMM peak of the precision trained, measured in the same process on the backend in
 * use (kernels/gemm.h). */
#ifndef BENCH_SPEED_H
#define BENCH_SPEED_H
#include "models/config.h"

typedef struct {
    double train_tok_s, mfu, train_flops_per_token, step_seconds;
    double sgemm_flops, bf16_flops;   /* the f32 and bf16 GEMM peaks; mfu is of the trained one's */
    int precision;                    /* Precision trained */
    double forward_seconds, backward_seconds, optimizer_seconds;
    /* tokens per CPU second over the timed steps (all threads' CPU time; robust to a
     * shared core at 1 thread, lowered by spin-waits at more) and page faults per step */
    double train_cpu_tok_s, faults_per_step;
    long ram_params, rom_weights;
    int steps, batch, seq_len, threads;
} TrainSpeed;

int measure_train_speed(const ModelConfig *cfg, int batch, int steps, int threads, int precision,
                        TrainSpeed *out);
#endif
