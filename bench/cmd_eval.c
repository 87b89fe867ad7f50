#include "bench/commands.h"
#include <stdio.h>
int cmd_eval(int argc, char **argv) { fprintf(stderr, "meki eval: not implemented yet\n"); return 1; }
