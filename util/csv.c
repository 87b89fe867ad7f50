#include "util/csv.h"
#include <string.h>

void csv_field(FILE *out, const char *text, int first) {
    if (!first) fputc(',', out);
    if (!text) return;
    if (!strpbrk(text, ",\"\r\n")) { fputs(text, out); return; }
    fputc('"', out);
    for (const char *c = text; *c; c++) {
        if (*c == '"') fputc('"', out);
        fputc(*c, out);
    }
    fputc('"', out);
}
