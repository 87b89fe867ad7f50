#include "bench/args.h"
#include <errno.h>
#include <float.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void arglist_free(ArgList *list) {
    free(list->items);
    memset(list, 0, sizeof *list);
}

static int arglist_add(ArgList *list, const char *text) {
    if (list->count == list->capacity) {
        int cap = list->capacity ? list->capacity * 2 : 16;
        const char **bigger = realloc(list->items, (size_t)cap * sizeof *bigger);
        if (!bigger) return 1;
        list->items = bigger;
        list->capacity = cap;
    }
    list->items[list->count++] = text;
    return 0;
}

static void print_help(const char *command, const ArgSpec *specs, int n, const char *usage_line) {
    printf("usage: ./meki %s %s\n\noptions:\n", command, usage_line);
    for (int i = 0; i < n; i++) printf("  %-22s %s\n", specs[i].name, specs[i].help);
    printf("  %-22s %s\n", "--help", "show this help");
}

/* Outside the flag's range (or the type's, with none given): print and return 2. */
static int out_of_range(const char *command, const ArgSpec *s, const char *text, double lo, double hi) {
    if (s->min != 0 || s->max != 0) lo = s->min, hi = s->max;
    fprintf(stderr, "meki %s: %s %s is out of range (%.15g..%.15g)\n", command, s->name, text, lo, hi);
    return 2;
}

static int in_range(const ArgSpec *s, double v, double lo, double hi) {
    if (s->min != 0 || s->max != 0) lo = s->min, hi = s->max;
    /* a float flag meets its bounds as floats: "1e-9" read as a float is below 1e-9 as a double */
    if (s->type == ARG_FLOAT) lo = (float)lo, hi = (float)hi;
    return v >= lo && v <= hi;   /* false for NaN */
}

static int set_value(const char *command, const ArgSpec *s, const char *text) {
    char *end;
    errno = 0;
    switch (s->type) {
    case ARG_INT: {
        long v = strtol(text, &end, 10);
        if (*end || end == text) break;
        if (errno || !in_range(s, (double)v, -2147483647.0, 2147483647.0))
            return out_of_range(command, s, text, -2147483647.0, 2147483647.0);
        *(int *)s->value = (int)v;
        return 0;
    }
    case ARG_LONG: {
        double v = strtod(text, &end);   /* accepts 1e6 for token counts */
        if (*end || end == text) break;
        if (!isfinite(v) || v != floor(v)) {
            fprintf(stderr, "meki %s: %s %s is not a whole number\n", command, s->name, text);
            return 2;
        }
        /* the range check comes first: converting a double beyond long is undefined */
        if (!in_range(s, v, -9.2e18, 9.2e18)) return out_of_range(command, s, text, -9.2e18, 9.2e18);
        *(long *)s->value = (long)v;
        return 0;
    }
    case ARG_FLOAT: {
        float v = strtof(text, &end);
        if (*end || end == text) break;
        if (!isfinite(v)) {
            fprintf(stderr, "meki %s: %s %s is not a finite number\n", command, s->name, text);
            return 2;
        }
        if (!in_range(s, v, -FLT_MAX, FLT_MAX)) return out_of_range(command, s, text, -FLT_MAX, FLT_MAX);
        *(float *)s->value = v;
        return 0;
    }
    case ARG_STRING:
        if (!*text) { fprintf(stderr, "meki %s: %s needs a value, got an empty one\n", command, s->name); return 2; }
        *(const char **)s->value = text;
        return 0;
    case ARG_STRINGS: {
        if (arglist_add(s->value, text)) {
            fprintf(stderr, "meki %s: out of memory for %s\n", command, s->name);
            return 1;
        }
        return 0;
    }
    case ARG_FLAG: break;
    }
    fprintf(stderr, "meki %s: bad value '%s' for %s\n", command, text, s->name);
    return 2;
}

/* The next word is another flag of the table (or --help): the value was left out. */
static int is_flag_word(const char *word, const ArgSpec *specs, int n) {
    if (!strcmp(word, "--help") || !strcmp(word, "-h")) return 1;
    size_t len = strcspn(word, "=");
    for (int k = 0; k < n; k++)
        if (strlen(specs[k].name) == len && !strncmp(specs[k].name, word, len)) return 1;
    return 0;
}

int args_parse(int argc, char **argv, const ArgSpec *specs, int n, ArgList *positional,
               const char *usage_line) {
    const char *command = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            print_help(command, specs, n, usage_line);
            return 1;
        }
        if (arg[0] != '-' || !strcmp(arg, "-")) {
            if (!positional) {
                fprintf(stderr, "meki %s: unexpected argument '%s'\n", command, arg);
                return 2;
            }
            if (arglist_add(positional, arg)) {
                fprintf(stderr, "meki %s: out of memory\n", command);
                return 2;
            }
            continue;
        }
        const char *eq = strchr(arg, '=');
        size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
        const ArgSpec *s = NULL;
        for (int k = 0; k < n; k++)
            if (strlen(specs[k].name) == name_len && !strncmp(specs[k].name, arg, name_len)) s = &specs[k];
        if (!s) {
            fprintf(stderr, "meki %s: unknown flag '%.*s' (see ./meki %s --help)\n", command,
                    (int)name_len, arg, command);
            return 2;
        }
        if (s->type == ARG_FLAG) {
            if (eq) { fprintf(stderr, "meki %s: %s takes no value\n", command, s->name); return 2; }
            *(int *)s->value = 1;
            continue;
        }
        const char *value = eq ? eq + 1 : (i + 1 < argc && !is_flag_word(argv[i + 1], specs, n) ? argv[++i] : NULL);
        if (!value) { fprintf(stderr, "meki %s: %s needs a value\n", command, s->name); return 2; }
        if (set_value(command, s, value)) return 2;
        /* list flags take every following non-flag word: --corpus a.txt b.txt */
        while (s->type == ARG_STRINGS && !eq && i + 1 < argc && argv[i + 1][0] != '-')
            if (set_value(command, s, argv[++i])) return 2;
    }
    return 0;
}

/* The nearest existing ancestor of path (path itself excluded) into out. */
static void existing_parent(char *out, size_t size, const char *path) {
    snprintf(out, size, "%s", path);
    for (;;) {
        char *slash = strrchr(out, '/');
        while (slash && slash > out && slash[1] == 0) {   /* trailing slashes */
            *slash = 0;
            slash = strrchr(out, '/');
        }
        if (!slash) { snprintf(out, size, "."); return; }
        if (slash == out) { snprintf(out, size, "/"); return; }
        *slash = 0;
        struct stat st;
        if (stat(out, &st) == 0) return;
    }
}

static int writable_parent(const char *command, const char *flag, const char *path) {
    char parent[4096];
    struct stat st;
    existing_parent(parent, sizeof parent, path);
    if (stat(parent, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "meki %s: %s %s cannot be created: %s is not a folder\n", command, flag, path, parent);
        return 2;
    }
    if (access(parent, W_OK | X_OK) != 0) {
        fprintf(stderr, "meki %s: %s %s cannot be created: folder %s is not writable\n", command, flag, path,
                parent);
        return 2;
    }
    return 0;
}

int args_check_out_dir(const char *command, const char *flag, const char *path) {
    struct stat st;
    if (stat(path, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            fprintf(stderr, "meki %s: %s %s exists and is not a folder\n", command, flag, path);
            return 2;
        }
        if (access(path, W_OK | X_OK) != 0) {
            fprintf(stderr, "meki %s: %s %s is not writable\n", command, flag, path);
            return 2;
        }
        return 0;
    }
    return writable_parent(command, flag, path);
}

int args_check_out_file(const char *command, const char *flag, const char *path) {
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            fprintf(stderr, "meki %s: %s %s is a folder, not a file\n", command, flag, path);
            return 2;
        }
        return 0;
    }
    return writable_parent(command, flag, path);
}

int args_check_in_file(const char *command, const char *flag, const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "meki %s: %s %s does not exist\n", command, flag, path);
        return 2;
    }
    if (S_ISDIR(st.st_mode)) {
        fprintf(stderr, "meki %s: %s %s is a folder, not a file\n", command, flag, path);
        return 2;
    }
    return 0;
}
