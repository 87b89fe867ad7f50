/* The meki command: dispatches to one file per subcommand. */
#include "bench/commands.h"
#include "bench/decode_processes.h"
#include "util/dist.h"
#include "util/error.h"
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out) {
    fprintf(out, "usage: ./meki COMMAND [options]   (./meki COMMAND --help for each)\n\ncommands:\n");
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-8s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
}

int main(int argc, char **argv) {
    /* a log of stdout and stderr together reads in order: line buffering, not 4 KiB blocks */
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* the sweep times decoding in fresh copies of this binary (bench/decode_processes.h) */
    static char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = 0;
        decode_processes_set_executable(self);
    }
    if (argc < 2) { usage(stderr); return 2; }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (int i = 0; i < N_COMMANDS; i++)
        if (!strcmp(argv[1], COMMANDS[i].name)) {
            /* MPI only when a launcher (mpirun, srun) started us: plain runs never load it */
            if (dist_init(&argc, &argv)) {
                fprintf(stderr, "meki: %s\n", error_message());
                return 1;
            }
            int rc = COMMANDS[i].run(argc - 1, argv + 1);
            dist_finalize();
            return rc;
        }
    fprintf(stderr, "meki: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
