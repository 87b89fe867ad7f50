#include "data/val_sources.h"
#include "data/summary.h"
#include "util/error.h"
#include "util/fileio.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "source = NAME: packages; ...; val B bytes T tokens; ..." (data/dataset.c writes it) */
static int parse_source(const char *line, const char *path, int number, ValSource *s) {
    const char *name = line + strlen("source = "), *colon = strchr(name, ':'), *val = strstr(line, "; val ");
    long bytes, tokens;
    if (!colon || colon == name || colon - name >= VAL_SOURCE_NAME || !val ||
        sscanf(val, "; val %ld bytes %ld tokens", &bytes, &tokens) != 2 || bytes < 0 || tokens < 0)
        return error_set(ERR_INPUT, "%s:%d: expected \"source = NAME: ...; val B bytes T tokens\"", path, number);
    memcpy(s->name, name, (size_t)(colon - name));
    s->name[colon - name] = 0;
    s->bytes = bytes, s->tokens = tokens;
    return OK;
}

int dataset_val_sources(const char *dir, ValSource **out, int *n) {
    *out = NULL, *n = 0;
    DataSummary summary;
    char path[DATASET_PATH_BYTES], *text;
    size_t size;
    int rc = dataset_summary_load(dir, &summary);
    if (!rc) rc = dataset_file_path(path, dir, "summary.txt");
    if (!rc) rc = read_file(path, &text, &size);
    if (rc) return rc;
    ValSource *list = NULL;
    int count = 0, number = 0;
    long start = 0;
    for (char *line = text, *next; line && !rc; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        number++;
        if (strncmp(line, "source = ", 9)) continue;
        if (count == VAL_SOURCES_MAX) {
            rc = error_set(ERR_INPUT, "%s:%d: more than %d sources", path, number, VAL_SOURCES_MAX);
            break;
        }
        ValSource *grown = realloc(list, sizeof *list * (size_t)(count + 1));
        if (!grown) {
            rc = error_set(ERR_FAILURE, "out of memory reading %s", path);
            break;
        }
        list = grown;
        if ((rc = parse_source(line, path, number, &list[count]))) break;
        if (list[count].tokens > summary.val_tokens - start) {
            rc = error_set(ERR_INPUT, "%s:%d: the sources' held-out tokens pass val_tokens (%ld)", path, number,
                           summary.val_tokens);
            break;
        }
        list[count].start = start;
        start += list[count++].tokens;
    }
    free(text);
    if (!rc && count && start != summary.val_tokens)
        rc = error_set(ERR_INPUT, "%s: the sources' held-out tokens add up to %ld, not val_tokens %ld (run ./meki "
                                  "data again)", path, start, summary.val_tokens);
    if (rc) {
        free(list);
        return rc;
    }
    *out = list, *n = count;
    return OK;
}
