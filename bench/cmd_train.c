#include "bench/commands.h"
#include <stdio.h>
int cmd_train(int argc, char **argv) { fprintf(stderr, "meki train: not implemented yet\n"); return 1; }
