/* MeKi's config names and its training-form helpers (models/meki.c); the types are in
 * models/meki_types.h. */
#ifndef MODELS_MEKI_H
#define MODELS_MEKI_H
#include "models/meki_types.h"

/* MeKi's config inside c (whatever c's memory kind). */
MekiConfig *meki_config(const ModelConfig *c);
const char *meki_memory_name(MekiMemory m);
const char *meki_position_name(MekiPosition p);
const char *meki_fusion_name(MekiFusion f);
const char *meki_projector_name(MekiProjector p);
/* name -> enum value; -1 if unknown */
int meki_memory_parse(const char *s);
int meki_position_parse(const char *s);
int meki_fusion_parse(const char *s);
int meki_projector_parse(const char *s);

/* e[N, m] for tokens with shared embeddings u[N, d], in training form, into a->e. */
void meki_expert_forward(const ModelConfig *c, const MekiWeights *w, const int32_t *tokens,
                         const float *u, int N, MekiActs *a);
#endif
