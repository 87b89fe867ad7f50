/* CSV as RFC 4180 writes it, for every export. */
#ifndef UTIL_CSV_H
#define UTIL_CSV_H
#include <stdio.h>

/* One field, preceded by a comma unless first; quoted when it holds a comma, quote or line
 * break. NULL (a damaged row: the schema says NOT NULL, a file may not) is an empty field. */
void csv_field(FILE *out, const char *text, int first);
#endif
