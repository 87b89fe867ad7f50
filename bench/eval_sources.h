/* eval --by-source: the held-out loss of each source of a multi-source corpus (the Debian
 * one), so a gain or a gap can be traced to a domain. */
#ifndef BENCH_EVAL_SOURCES_H
#define BENCH_EVAL_SOURCES_H
#include "data/tokenizer.h"
#include "data/tokens.h"
#include "data/val_sources.h"
#include "models/model.h"
#include "util/json.h"

typedef struct {
    ValSource *sources;
    int n;
    double *loss, *bpb;         /* nats per token, bits per byte (NAN: no tokenizer or no tokens) */
    long *count;                /* tokens scored */
} SourceScores;

/* The sources of data_dir's held-out split, checked against val, with room for their
 * scores. ERR_INPUT naming data_dir when its corpus has no sources or a span passes val's
 * end: called before any scoring, so a bad request costs nothing. */
int eval_sources_open(const char *data_dir, const TokenFile *val, SourceScores *out);
/* Scores each source's span of val: at most max_tokens of it (0: all), its first ones or,
 * with spread, whole windows spread over the span, as eval scores the whole split. */
int eval_sources_score(Model *m, const TokenFile *val, const Tokenizer *tok, int B, int T, long max_tokens, int spread,
                       SourceScores *out);
void eval_sources_print(const SourceScores *s);                /* one line a source */
void eval_sources_json(const SourceScores *s, Json *j);        /* source_<name>_val_loss, _val_bpb, _tokens */
void eval_sources_free(SourceScores *s);
#endif
