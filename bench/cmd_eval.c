/* ./meki eval: validation loss and perplexity over the whole held-out split, from a
 * training checkpoint (unfolded path) or a deploy bundle (folded path). */
#include "bench/args.h"
#include "bench/commands.h"
#include "bench/eval_sources.h"
#include "data/dataset.h"
#include "data/tokens.h"
#include "kernels/gemm.h"
#include "kernels/wquant.h"
#include "infer/engine.h"
#include "train/checkpoint.h"
#include "train/eval.h"
#include "deploy/fold.h"
#include "train/record.h"
#include "train/zeroshot.h"
#include "util/error.h"
#include "util/fileio.h"
#include <stdlib.h>
#include "util/json.h"
#include "util/timer.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

static int load_model(Model *m, const char *checkpoint, const char *bundle, const char *dtype_text) {
    TrainState state;
    if (checkpoint) return checkpoint_load(m, checkpoint, 0, &state);
    int dtype = table_dtype_parse(dtype_text);
    if (dtype < 0) return error_set(ERR_INPUT, "--table-dtype: unknown dtype '%s'", dtype_text);
    /* eval's figures get recorded and compared: unlike decode it pays the one full read
     * of the table that proves it is the table fold wrote */
    int rc = bundle_load(m, bundle, (TableDtype)dtype);
    if (!rc && (rc = bundle_verify(bundle, (TableDtype)dtype))) model_free(m);
    return rc;
}

int cmd_eval(int argc, char **argv) {
    const char *checkpoint = NULL, *bundle = NULL, *data_dir = NULL, *dtype_text = "f32", *weights_text = "f32",
               *task = NULL;
    int json = 0, threads = 0, batch = 8, zero_shot = 0, lens = 0, items = 400, spread = 0, seq_len = 0, by_source = 0;
    long eval_tokens = 0;
    ArgSpec specs[] = {
        {"--checkpoint", ARG_STRING, &checkpoint, "training run folder (training form)", 0, 0},
        {"--bundle", ARG_STRING, &bundle, "deploy bundle folder (folded form)", 0, 0},
        {"--table-dtype", ARG_STRING, &dtype_text, "which ROM table of the bundle (default f32)", 0, 0},
        {"--weights-dtype", ARG_STRING, &weights_text, "RAM weights as a decode in f32 | bf16 | q8_0 reads them (default f32)", 0, 0},
        {"--data", ARG_STRING, &data_dir, "prepared corpus folder (default: the one the model was trained on)", 0, 0},
        {"--batch", ARG_INT, &batch, "sequences per forward (default 8)", 1, 65536},
        {"--threads", ARG_INT, &threads, "threads (default: all cores)", 0, 1024},
        {"--zero-shot", ARG_FLAG, &zero_shot, "also score the zero-shot tasks (cloze, 4-way choice, 2-way word)", 0, 0},
        {"--task", ARG_STRING, &task, "with --zero-shot, only this task (cloze, choice or word)", 0, 0},
        {"--items", ARG_INT, &items, "items per zero-shot task (default 400)", 1, 100000},
        {"--logit-lens", ARG_FLAG, &lens, "also the per-layer KL of the logit lens", 0, 0},
        {"--json", ARG_FLAG, &json, "print the figures as one JSON line", 0, 0},
        {"--eval-tokens", ARG_LONG, &eval_tokens, "score only the first N predicted tokens of the held-out split (default: all)", 0, 1e13},
        {"--spread", ARG_FLAG, &spread, "with --eval-tokens, whole windows spread over the split as a run's final evaluation takes them (its val_loss at the same N and --seq-len)", 0, 0},
        {"--by-source", ARG_FLAG, &by_source, "also the loss of each source of a multi-source corpus (the Debian one); --eval-tokens N then scores N of each", 0, 0},
        {"--seq-len", ARG_INT, &seq_len, "tokens per scored window (default: the model's seq_len; a run trained with [train] seq_len was scored at that)", 0, 1 << 20},
    };
    int rc = args_parse(argc, argv, specs, sizeof specs / sizeof specs[0], NULL,
                        "(--checkpoint DIR | --bundle DIR) [options]");
    if (rc) return rc == 1 ? 0 : rc;
    if (!checkpoint == !bundle) {
        fprintf(stderr, "meki eval: give exactly one of --checkpoint or --bundle\n");
        return 2;
    }
    int weights_dtype = weights_dtype_parse(weights_text);
    if (weights_dtype < 0) {
        fprintf(stderr, "meki eval: --weights-dtype: unknown dtype '%s' (f32, bf16, q8_0)\n", weights_text);
        return 2;
    }
    unsigned tasks = ZERO_SHOT_ALL;
    if (task) {
        int k = zero_shot_task_index(task);
        if (k < 0 || !zero_shot) {
            fprintf(stderr, "meki eval: --task: %s\n", k < 0 ? "unknown task (cloze, choice or word)" : "needs --zero-shot");
            return 2;
        }
        tasks = 1u << k;
    }
    if (eval_tokens < 0) {
        fprintf(stderr, "meki eval: --eval-tokens must be positive (0: the whole split)\n");
        return 2;
    }
    if (spread && eval_tokens == 0) {
        fprintf(stderr, "meki eval: --spread needs --eval-tokens N (the whole split is scored either way)\n");
        return 2;
    }
    kernels_set_threads(threads);
    Model m;
    if ((rc = load_model(&m, checkpoint, bundle, dtype_text))) {
        fprintf(stderr, "meki eval: %s\n", error_message());
        return rc;
    }
    if ((rc = model_roundtrip_weights(&m, weights_dtype))) {
        fprintf(stderr, "meki eval: %s\n", error_message());
        model_free(&m);
        return rc;
    }
    if (seq_len > m.cfg.seq_len) {
        fprintf(stderr, "meki eval: --seq-len %d is longer than the model's context (seq_len %d)\n", seq_len, m.cfg.seq_len);
        model_free(&m);
        return 2;
    }
    int T = seq_len > 0 ? seq_len : m.cfg.seq_len;
    if (model_check_activations(&m.cfg, batch, T)) {
        fprintf(stderr, "meki eval: --batch: %s\n", error_message());
        model_free(&m);
        return 2;
    }
    char default_data[4096], path[4200], chosen[4096];
    DataOptions options = {.vocab_size = m.cfg.vocab_size};
    data_default_dir(default_data, sizeof default_data, &options);
    /* the data the model was trained on, unless --data says otherwise (same tokenizer) */
    if ((rc = record_data_dir(m.record, data_dir, default_data, chosen, sizeof chosen))) {
        fprintf(stderr, "meki eval: %s\n", error_message());
        model_free(&m);
        return rc;
    }
    data_dir = chosen;
    DataSummary summary;
    TokenFile val;
    if ((rc = dataset_summary_load(data_dir, &summary)) == OK && summary.vocab_size != m.cfg.vocab_size)
        rc = error_set(ERR_INPUT, "%s has a %d-token vocabulary but the model was trained with %d: wrong tokenizer",
                       data_dir, summary.vocab_size, m.cfg.vocab_size);
    if (!rc) rc = dataset_open_split(data_dir, "val", 0, &val);
    if (rc) {
        fprintf(stderr, "meki eval: %s\n", error_message());
        model_free(&m);
        return rc;
    }
    SourceScores by = {0};
    if (by_source && (rc = eval_sources_open(data_dir, &val, &by))) {
        fprintf(stderr, "meki eval: %s\n", error_message());
        token_file_close(&val);
        model_free(&m);
        return rc;
    }
    double start = now_seconds();
    long count;
    error_clear();   /* a NaN loss with a message is a failure to evaluate, without one a NaN model */
    double loss = spread ? evaluate_loss_spread(&m, val.ids, val.count, batch, T, eval_tokens, &count)
                         : evaluate_loss(&m, val.ids, val.count, batch, T, eval_tokens, &count);
    double seconds = now_seconds() - start;
    if (isnan(loss) && strcmp(error_message(), "unknown error")) {
        fprintf(stderr, "meki eval: %s\n", error_message());
        eval_sources_free(&by);
        token_file_close(&val);
        model_free(&m);
        return 1;
    }
    Accounting acc;
    model_accounting(&m, &acc);
    const char *source = checkpoint ? checkpoint : bundle;
    /* bits per byte of the text the scored tokens stand for: comparable across tokenizers */
    double bpb = NAN;
    Tokenizer *tok = NULL;
    snprintf(path, sizeof path, "%s/tokenizer.bin", data_dir);
    if (tokenizer_load(&tok, path) == OK)
        bpb = bits_per_byte(loss, count, evaluate_target_bytes(val.ids, val.count, T, eval_tokens, spread, tok));
    else
        error_clear();
    char bpb_line[96];
    printf("%s (%s form): val loss %.5f nats/token, %s  val ppl %.3f  over %ld tokens in %.1f s\n", source,
           m.folded ? "folded" : "training", loss, bpb_text(bpb, 5, bpb_line, sizeof bpb_line), exp(loss), count, seconds);
    rc = by_source ? eval_sources_score(&m, &val, tok, batch, T, eval_tokens, spread, &by) : OK;
    tokenizer_free(tok);
    if (rc) {
        fprintf(stderr, "meki eval: %s\n", error_message());
        eval_sources_free(&by);
        token_file_close(&val);
        model_free(&m);
        return 1;
    }
    eval_sources_print(&by);
    DownstreamResult extras = {0};
    if ((zero_shot || lens) && (rc = evaluate_downstream(&m, data_dir, &val, zero_shot, tasks, lens, items, &extras))) {
        fprintf(stderr, "meki eval: %s\n", error_message());
        downstream_free(&extras);
        eval_sources_free(&by);
        token_file_close(&val);
        model_free(&m);
        return rc;
    }
    if (json) {
        Json j;
        json_begin(&j);
        json_string(&j, "model", source);
        json_string(&j, "form", m.folded ? "folded" : "training");
        if (bundle) json_string(&j, "table_dtype", dtype_text);
        json_string(&j, "weights_dtype", weights_text);
        json_number(&j, "val_loss", loss);
        json_number(&j, "val_ppl", exp(loss));
        json_number(&j, "val_bpb", bpb);
        json_int(&j, "val_tokens", count);
        json_int(&j, "ram_params", acc.ram_params);
        json_int(&j, "rom_weights", acc.rom_weights);
        json_number(&j, "inference_flops_per_token", acc.inference_flops_per_token);
        json_number(&j, "seconds", seconds);
        eval_sources_json(&by, &j);
        if (zero_shot) {
            for (int k = 0; k < ZERO_SHOT_TASKS; k++) {
                char key[64];
                if (!(tasks & (1u << k))) continue;
                snprintf(key, sizeof key, "%s_acc", ZERO_SHOT_TASK[k].name);
                json_number(&j, key, extras.task[k].accuracy);
                if (ZERO_SHOT_TASK[k].norm) {
                    snprintf(key, sizeof key, "%s_acc_norm", ZERO_SHOT_TASK[k].name);
                    json_number(&j, key, extras.task[k].accuracy_norm);
                }
                snprintf(key, sizeof key, "%s_items", ZERO_SHOT_TASK[k].name);
                json_int(&j, key, extras.task[k].count);
            }
        }
        if (lens) {
            char key[64];
            for (int r = 0; r < LENS_READINGS; r++)
                for (int l = 0; l < m.cfg.n_layers; l++) {
                    lens_metric_name(key, sizeof key, r, l);
                    json_number(&j, key, extras.kl[r][l]);
                }
        }
        printf("%s\n", json_end(&j));
        json_free(&j);
    }
    downstream_free(&extras);
    eval_sources_free(&by);
    token_file_close(&val);
    model_free(&m);
    return 0;
}
