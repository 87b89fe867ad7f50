/* MeKi for the inference engine (infer/engine.c): the module applied to a few rows at
 * known positions, with no training buffers and nothing saved for a backward.
 * Folded models read one row per layer (heap table or ROM table); unfolded models
 * (training form) recompute the expert vector, paying the projector on every token.
 * It depends on MeKi's types only, never on models/meki.c, whose ops table calls it. */
#ifndef MODELS_MEKI_INFER_H
#define MODELS_MEKI_INFER_H
#include "models/meki_types.h"
#include "models/model.h"
#include "kernels/inference.h"

typedef struct {
    int rows;     /* capacity */
    const MekiConfig *k;   /* the model's MeKi settings, looked up once (decode asks every layer) */
    int gate_ready;   /* the engine computed the gate's product into a.gpre (meki_infer_shared) */
    int out_ready;    /* ... and the output product into a.o (meki_infer_shared_out) */
    MekiActs a;   /* reused as scratch: in, h, s, p_*, q, mix, r, e, gpre, o (gact and v
                     are computed in place, in gpre and e: NULL here) */
    /* the folded form's gate and output matrices in the engine's RAM weights dtype (both
       [d_mem, d]: W_out transposed), per layer; NULL: f32, the model's own */
    void *gate_packed[MAX_LAYERS], *out_packed[MAX_LAYERS];
    int packed_dtype;
    float *unpacked;   /* [d_mem, d]: a packed matrix decoded for a prefill's sgemm */
} MekiInfer;

int meki_infer_create(MekiInfer *s, const ModelConfig *c, int rows);
void meki_infer_free(MekiInfer *s);
/* out[n, d] += MeKi_layer(in[n, d]) for tokens[n]; embedded[n, d] = E[tokens] (used by
 * the unfolded form only); rom_rows: the tokens' ROM rows as the engine fetched them (NULL:
 * heap tables, or read here). in may alias out. n <= s->rows. */
void meki_infer_forward(const Model *m, int layer, const int32_t *tokens, const uint8_t *const *rom_rows,
                        const float *embedded, const float *in, float *out, int n, MekiInfer *s);
/* The gate's product, for the engine's pass over the block's input at a parallel site
 * (MemoryOps.infer_shared); 0 at the other sites, where the gate reads MeKi's own norm. */
int meki_infer_shared(const Model *m, MekiInfer *s, int layer, MatvecPart *part);
/* MemoryOps.infer_pack: the folded form's gate and output matrices in dtype (the training
 * form keeps f32: it is the reference, not a deploy). */
int meki_infer_pack(const Model *m, MekiInfer *s, int dtype, Model *release);
/* MemoryOps.roundtrip_weights and packed_values: the same matrices, of a folded model. */
int meki_roundtrip_weights(Model *m, int dtype);
long meki_packed_values(const Model *m, int dtype, size_t *bytes);
/* The output product, for the engine's pass that closes the block at a parallel site
 * (MemoryOps.infer_shared_out): one row, after meki_infer_shared's gate; readies its input
 * (the expert row, the fusion) and describes it as *part. 0 when the gate was not shared. */
int meki_infer_shared_out(const Model *m, MekiInfer *s, int layer, const int32_t *tokens,
                          const uint8_t *const *rom_rows, const float *embedded, MatvecPart *part);
/* Can this model's memory be run here? ERR_INPUT naming what is missing. */
int meki_infer_check(const Model *m);
#endif
