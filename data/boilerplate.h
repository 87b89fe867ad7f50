/* Boilerplate of a multi-document source (navigation bars, footers, running headers): a
 * line that recurs in many of its documents. Documented simple rule: a line (ignoring
 * leading and trailing whitespace) found in at least BOILERPLATE_MIN_DOCS documents and in
 * at least 1 / BOILERPLATE_SHARE of them is dropped everywhere in that source. */
#ifndef DATA_BOILERPLATE_H
#define DATA_BOILERPLATE_H
#include <stddef.h>

enum { BOILERPLATE_MIN_DOCS = 5, BOILERPLATE_SHARE = 10 };

/* Rewrites each texts[i] in place (lengths[i] shrinks): boilerplate lines dropped, trailing
 * whitespace trimmed from every line, runs of blank lines made one, blank lines at the start
 * and end removed. *dropped_lines (may be NULL) gets the number of distinct lines dropped.
 * ERR_FAILURE only when memory runs out. */
int boilerplate_strip(char **texts, size_t *lengths, int count, int *dropped_lines);
#endif
