#include "bench/eval_sources.h"
#include "train/eval.h"
#include "util/error.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int eval_sources_open(const char *data_dir, const TokenFile *val, SourceScores *out) {
    memset(out, 0, sizeof *out);
    int rc = dataset_val_sources(data_dir, &out->sources, &out->n);
    if (rc) return rc;
    if (out->n == 0)
        return error_set(ERR_INPUT, "--by-source: %s holds a corpus without sources (only the Debian corpus has them)",
                         data_dir);
    for (int k = 0; k < out->n; k++)
        if (out->sources[k].start + out->sources[k].tokens > val->count) {
            rc = error_set(ERR_INPUT, "--by-source: %s/summary.txt puts source %s past the end of val.tok (%ld ids)",
                           data_dir, out->sources[k].name, val->count);
            eval_sources_free(out);
            return rc;
        }
    out->loss = malloc(sizeof(double) * (size_t)out->n);
    out->bpb = malloc(sizeof(double) * (size_t)out->n);
    out->count = calloc((size_t)out->n, sizeof(long));
    if (!out->loss || !out->bpb || !out->count) {
        eval_sources_free(out);
        return error_set(ERR_FAILURE, "--by-source: out of memory");
    }
    return OK;
}

int eval_sources_score(Model *m, const TokenFile *val, const Tokenizer *tok, int B, int T, long max_tokens, int spread,
                       SourceScores *out) {
    int rc = OK;
    for (int k = 0; k < out->n; k++) {
        const uint16_t *ids = val->ids + out->sources[k].start;
        long n = out->sources[k].tokens;
        out->loss[k] = out->bpb[k] = NAN;
        if (n < 2) continue;   /* no token to predict */
        out->loss[k] = spread ? evaluate_loss_spread(m, ids, n, B, T, max_tokens, &out->count[k])
                              : evaluate_loss(m, ids, n, B, T, max_tokens, &out->count[k]);
        if (isnan(out->loss[k]) && strcmp(error_message(), "unknown error"))
            return error_set(ERR_FAILURE, "--by-source: source %s: %s", out->sources[k].name, error_message());
        if (tok)
            out->bpb[k] = bits_per_byte(out->loss[k], out->count[k],
                                        evaluate_target_bytes(ids, n, T, max_tokens, spread, tok));
    }
    return rc;
}

void eval_sources_print(const SourceScores *s) {
    for (int k = 0; k < s->n; k++) {
        char bpb[96];
        printf("  source %-22s val loss %.5f nats/token, %s  over %ld of its %ld tokens\n", s->sources[k].name,
               s->loss[k], bpb_text(s->bpb[k], 5, bpb, sizeof bpb), s->count[k], s->sources[k].tokens);
    }
}

void eval_sources_json(const SourceScores *s, Json *j) {
    for (int k = 0; k < s->n; k++) {
        char key[VAL_SOURCE_NAME + 32];
        snprintf(key, sizeof key, "source_%s_val_loss", s->sources[k].name);
        json_number(j, key, s->loss[k]);
        snprintf(key, sizeof key, "source_%s_val_bpb", s->sources[k].name);
        json_number(j, key, s->bpb[k]);
        snprintf(key, sizeof key, "source_%s_tokens", s->sources[k].name);
        json_int(j, key, s->count[k]);
    }
}

void eval_sources_free(SourceScores *s) {
    free(s->sources), free(s->loss), free(s->bpb), free(s->count);
    memset(s, 0, sizeof *s);
}
