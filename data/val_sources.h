/* The held-out split of a multi-source corpus (the Debian one) by source. val.tok holds
 * each source's held-out documents in turn, in the order summary.txt lists the sources,
 * and each source is encoded on its own (data/dataset.c), so a source's tokens are one span
 * whose length summary.txt records: what `meki eval --by-source` scores. */
#ifndef DATA_VAL_SOURCES_H
#define DATA_VAL_SOURCES_H

enum { VAL_SOURCE_NAME = 64, VAL_SOURCES_MAX = 1024 };

typedef struct {
    char name[VAL_SOURCE_NAME];
    long start, tokens;         /* its ids in val.tok: [start, start + tokens) */
    long bytes;                 /* of held-out text */
} ValSource;

/* The sources of prepared folder DIR, in val.tok order (malloc'd; *n 0 and *out NULL for a
 * corpus without sources). ERR_INPUT naming summary.txt and the line when a source line is
 * malformed, or when the spans do not add up to the split's val_tokens. */
int dataset_val_sources(const char *dir, ValSource **out, int *n);
#endif
