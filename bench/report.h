/* Printing of figures shared by the commands: a readable block, and the --json line. */
#ifndef BENCH_REPORT_H
#define BENCH_REPORT_H
#include <stdio.h>
#include "models/model.h"
#include "train/train.h"

void report_train(const TrainResult *r, const char *out_dir, int json);
void report_accounting(const Accounting *a, FILE *out);
#endif
