/* Flag parsing shared by the subcommands: a table of options, --name value or --name=value.
 * Unknown flags, missing values and bad numbers are reported naming the flag (exit 2). */
#ifndef BENCH_ARGS_H
#define BENCH_ARGS_H

typedef enum { ARG_FLAG, ARG_INT, ARG_LONG, ARG_FLOAT, ARG_STRING, ARG_STRINGS } ArgType;

typedef struct {
    const char *name;       /* "--threads" */
    ArgType type;
    void *value;            /* int*, long*, float*, const char**, or ArgList* */
    const char *help;
} ArgSpec;

/* Values of a list flag or the positional arguments, as many as given (points into argv). */
typedef struct { const char **items; int count, capacity; } ArgList;
void arglist_free(ArgList *list);

/* Parses argv[1..]; ArgList values grow as needed: free them with arglist_free, also after
 * an error. Positional arguments go to positional (may be NULL when none allowed).
 * Returns 0, 1 after printing --help (caller exits 0), or 2 after printing an error. */
int args_parse(int argc, char **argv, const ArgSpec *specs, int n_specs, ArgList *positional,
               const char *usage_line);
#endif
