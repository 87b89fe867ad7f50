#include "bench/commands.h"
#include <stdio.h>
int cmd_data(int argc, char **argv) { fprintf(stderr, "meki data: not implemented yet\n"); return 1; }
