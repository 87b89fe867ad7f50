/* Checkpoints: DIR/checkpoint.safetensors holds every parameter under its name, the
 * AdamW moments as optim.m.<name> and optim.v.<name>, and in its metadata the model
 * config and the training position. One file written atomically, so a checkpoint is
 * always consistent, even when the process is killed while writing it. */
#ifndef TRAIN_CHECKPOINT_H
#define TRAIN_CHECKPOINT_H
#include "models/model.h"

typedef struct {
    long step, tokens;
    int finished;
    double train_loss;
} TrainState;

int checkpoint_save(const Model *m, const char *dir, const TrainState *state);
/* Reads the config from dir's checkpoint, creates m (training: with optimizer state when
 * present) and loads every tensor; ERR_INPUT naming the file on any mismatch. */
int checkpoint_load(Model *m, const char *dir, int training, TrainState *state);
int checkpoint_exists(const char *dir);
/* The run record kept in dir's checkpoint (malloc'd), or NULL when it has none or is unreadable. */
char *checkpoint_record(const char *dir);
/* One safetensors file of weights and config (no optimizer): bundles use these. */
int model_save_file(const Model *m, const char *path, const TrainState *state);
int model_load_file(Model *m, const char *path, int training, TrainState *state);
#endif
