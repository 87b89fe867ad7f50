/* A model's parameters as one flat float array, with a table of named tensors.
 * Gradients and AdamW moments are parallel arrays with the same offsets, so the
 * optimizer, clipping and checkpoints walk one list. */
#ifndef MODELS_PARAMS_H
#define MODELS_PARAMS_H
#include "kernels/adamw.h"
#include <stdint.h>

typedef enum { INIT_NORMAL, INIT_ONES, INIT_ZEROS } ParamInit;

typedef struct {
    char name[96];
    int ndim;
    long shape[3];
    long offset, numel;
    ParamInit init;
    float init_std;
    int decay;          /* AdamW weight decay applies */
    int rom;            /* lives in storage at deployment (counted as ROM weights) */
    int own_decay;      /* decay as declared, kept for params_set_decay */
    int output;         /* an output projection (the reference's scaled init) */
    int released;       /* values given back to the OS (params_release); slot is NULL */
    int folded_only;    /* no tensor of that name in the training form: the fold computes it */
    float **slot;       /* where the model keeps its pointer to the data */
    float **grad_slot;  /* and to the gradient (may be NULL) */
} ParamTensor;

typedef struct {
    ParamTensor *tensors;
    int count, capacity;
    long total;
    float *data, *grad, *adam_m, *adam_v;
    int released;       /* some tensor was released: params_free restores the protection */
} ParamSet;

/* Declare a tensor; pointers are bound by params_allocate. shape: up to 3 dims, 0-terminated */
void params_add(ParamSet *ps, const char *name, long d0, long d1, long d2, ParamInit init,
                float std, int decay, int rom, float **slot, float **grad_slot);
/* Marks the tensor declared last as an output projection. */
void params_mark_output(ParamSet *ps);
/* Marks the tensor declared last as computed by the fold (model_fold copies the others). */
void params_mark_folded_only(ParamSet *ps);
/* The std of every normal tensor: std, output projections output_std (the recipe). */
void params_set_init_std(ParamSet *ps, float std, float output_std);
/* all_matrices: every tensor of two or more dimensions decays (the reference's rule:
 * embedding and memory tables too), 1-D ones never; 0: each as declared. */
void params_set_decay(ParamSet *ps, int all_matrices);
/* Allocate data (and gradients and moments when training) and bind every slot. */
int params_allocate(ParamSet *ps, int with_training_state);
/* Each tensor from its own stream seeded by (seed, name): the init of one tensor does not
 * depend on which others exist, so a dense model equals MeKi with memory off. */
void params_init(ParamSet *ps, uint64_t seed);
const ParamTensor *params_find(const ParamSet *ps, const char *name);
void params_zero_grad(ParamSet *ps);
/* One AdamW step (step counts from 1) on every tensor, decay where the tensor takes it. */
void params_adamw_step(ParamSet *ps, const AdamWSettings *s, long step);
/* The values of the tensor bound to slot given back to the OS, for a model whose weights
 * live elsewhere now (the decode engine's packed copies): *slot becomes NULL, and the
 * whole pages of the tensor (with any released neighbours, so no page in between stays) are
 * dropped (MADV_DONTNEED) and made unreadable (PROT_NONE), so a read through params.data
 * faults instead of computing with zeros. The tensor's partial edge pages stay resident.
 * ERR_INPUT for a tensor not in the set or a set with training state. */
int params_release(ParamSet *ps, float **slot);
void params_free(ParamSet *ps);
long params_count(const ParamSet *ps, int rom);   /* RAM (rom = 0) or ROM (rom = 1) values */
uint64_t string_hash(const char *s);
#endif
