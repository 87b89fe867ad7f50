#include "bench/args.h"
#include <errno.h>
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

static int set_value(const char *command, const ArgSpec *s, const char *text) {
    char *end;
    errno = 0;
    switch (s->type) {
    case ARG_INT: {
        long v = strtol(text, &end, 10);
        if (*end || end == text || errno || v < -2147483647 || v > 2147483647) break;
        *(int *)s->value = (int)v;
        return 0;
    }
    case ARG_LONG: {
        double v = strtod(text, &end);   /* accepts 1e6 for token counts */
        if (*end || end == text || errno || v != (double)(long)v) break;
        *(long *)s->value = (long)v;
        return 0;
    }
    case ARG_FLOAT: {
        float v = strtof(text, &end);
        if (*end || end == text || errno) break;
        *(float *)s->value = v;
        return 0;
    }
    case ARG_STRING: *(const char **)s->value = text; return 0;
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
        const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!value) { fprintf(stderr, "meki %s: %s needs a value\n", command, s->name); return 2; }
        if (set_value(command, s, value)) return 2;
        /* list flags take every following non-flag word: --corpus a.txt b.txt */
        while (s->type == ARG_STRINGS && !eq && i + 1 < argc && argv[i + 1][0] != '-')
            if (set_value(command, s, argv[++i])) return 2;
    }
    return 0;
}
