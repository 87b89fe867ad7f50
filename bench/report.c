#include <stdio.h>
#include "bench/report.h"
#include "train/eval.h"
#include "util/json.h"

void report_accounting(const Accounting *a, FILE *out) {
    fprintf(out, "ram params %ld, rom weights %ld, training params %ld\n", a->ram_params,
            a->rom_weights, a->training_params);
    fprintf(out, "flops per token: training %.3g, inference %.3g\n", a->train_flops_per_token,
            a->inference_flops_per_token);
}

void report_train(const TrainResult *r, const char *out_dir, int json) {
    /* a run found finished, or resumed, says so: its time and tok/s are not a whole run's */
    if (r->already_finished) printf("already trained: %s holds this run, finished; nothing trained, evaluated again\n", out_dir);
    else if (r->resumed_at > 0) printf("resumed at step %ld from the checkpoint in %s\n", r->resumed_at, out_dir);
    printf("trained %ld steps, %ld tokens -> %s\n", r->steps, r->tokens, out_dir);
    printf("time %.1f s: training %.1f s, validation %.1f s, final evaluation %.1f s\n", r->seconds,
           r->train_seconds, r->val_seconds, r->final_seconds);
    if (r->diverged) printf("DIVERGED: %s\n", r->reason);
    char bpb[96];
    printf("train loss %.4f (last batch)  val loss %.4f nats/token, %s  val ppl %.2f over %ld of %ld held-out tokens\n",
           r->train_loss, r->val_loss, bpb_text(r->val_bpb, 4, bpb, sizeof bpb), r->val_ppl, r->final_tokens, r->val_tokens);
    if (!r->already_finished)
        printf("train %.0f tok/s  MFU %.1f%% (of sgemm %.1f GFLOP/s)\n", r->train_tok_s, 100 * r->mfu, r->sgemm_flops / 1e9);
    printf("ram params %ld  rom weights %ld  flops/token train %.3g inference %.3g\n", r->ram_params,
           r->rom_weights, r->train_flops_per_token, r->inference_flops_per_token);
    if (r->ranks > 1)
        printf("%d ranks: gradient exchange %.3f MB/step (whole tables: %.3f MB) %.1f ms/step\n", r->ranks,
               r->comm_bytes_sparse / 1e6, r->comm_bytes_dense / 1e6, r->comm_seconds * 1e3);
    if (!json) return;
    Json j;
    json_begin(&j);
    json_string(&j, "out", out_dir);
    json_int(&j, "steps", r->steps);
    json_int(&j, "tokens", r->tokens);
    json_number(&j, "seconds", r->seconds);
    json_number(&j, "train_seconds", r->train_seconds);
    json_number(&j, "val_seconds", r->val_seconds);
    json_number(&j, "final_eval_seconds", r->final_seconds);
    json_int(&j, "final_eval_tokens", r->final_tokens);
    json_int(&j, "val_split_tokens", r->val_tokens);
    json_number(&j, "train_loss", r->train_loss);
    json_number(&j, "val_loss", r->val_loss);
    json_number(&j, "val_ppl", r->val_ppl);
    json_number(&j, "val_bpb", r->val_bpb);
    json_number(&j, "train_tok_s", r->train_tok_s);
    json_number(&j, "mfu", r->mfu);
    json_number(&j, "sgemm_flop_s", r->sgemm_flops);
    json_int(&j, "ram_params", r->ram_params);
    json_int(&j, "rom_weights", r->rom_weights);
    json_number(&j, "train_flops_per_token", r->train_flops_per_token);
    json_number(&j, "inference_flops_per_token", r->inference_flops_per_token);
    json_int(&j, "diverged", r->diverged);
    if (r->ranks > 1) {   /* data-parallel under MPI: the gradient exchange, per step and rank */
        json_int(&j, "ranks", r->ranks);
        json_number(&j, "exchange_bytes_per_step", r->comm_bytes_sparse);
        json_number(&j, "exchange_bytes_per_step_dense", r->comm_bytes_dense);
        json_number(&j, "exchange_seconds_per_step", r->comm_seconds);
    }
    printf("%s\n", json_end(&j));
    json_free(&j);
}
