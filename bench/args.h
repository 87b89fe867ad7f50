/* Flag parsing shared by the subcommands: a table of options, --name value or --name=value.
 * Unknown flags, missing values, bad numbers and numbers outside the flag's range are
 * reported naming the flag (exit 2), before the command does any work. */
#ifndef BENCH_ARGS_H
#define BENCH_ARGS_H

typedef enum { ARG_FLAG, ARG_INT, ARG_LONG, ARG_FLOAT, ARG_STRING, ARG_STRINGS } ArgType;

typedef struct {
    const char *name;       /* "--threads" */
    ArgType type;
    void *value;            /* int*, long*, float*, const char**, or ArgList* */
    const char *help;
    /* numbers: the accepted range, inclusive; min == max == 0 means the type's own range.
     * Floats must be finite either way; ARG_LONG must be a whole number that fits. */
    double min, max;
} ArgSpec;

typedef struct { const char *items[64]; int count; } ArgList;

/* The largest seed an ARG_LONG flag takes: whole doubles up to here convert to long exactly. */
#define ARG_SEED_MAX 9e18

/* Parses argv[1..]; positional arguments go to positional (may be NULL when none allowed).
 * Returns 0, 1 after printing --help (caller exits 0), or 2 after printing an error. */
int args_parse(int argc, char **argv, const ArgSpec *specs, int n_specs, ArgList *positional,
               const char *usage_line);

/* Paths given to a flag, checked before any work; each prints "meki COMMAND: FLAG PATH ..."
 * and returns 2 when the path cannot serve, else 0.
 * A folder the command will create or fill: not an existing non-folder, and its nearest
 * existing ancestor a writable folder. */
int args_check_out_dir(const char *command, const char *flag, const char *path);
/* A file the command will create or update (a database): not a folder, and if missing, its
 * nearest existing ancestor a writable folder. */
int args_check_out_file(const char *command, const char *flag, const char *path);
/* A file the command only reads: exists and is not a folder. */
int args_check_in_file(const char *command, const char *flag, const char *path);
#endif
