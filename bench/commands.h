/* One function per subcommand: (argc, argv) with argv[0] the subcommand name.
 * Returns the process exit code: 0 success, 2 bad usage or input, 1 other failure. */
#ifndef BENCH_COMMANDS_H
#define BENCH_COMMANDS_H

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} Command;

/* every subcommand with its one-line summary (bench/commands.c) */
extern const Command COMMANDS[];
extern const int N_COMMANDS;

int cmd_data(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_fold(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int bench_gemm(int argc, char **argv);   /* ./meki bench gemm (bench/cmd_bench_gemm.c) */
int cmd_sweep(int argc, char **argv);
int cmd_runs(int argc, char **argv);
int cmd_db(int argc, char **argv);
int cmd_decode(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_reference(int argc, char **argv);
#endif
