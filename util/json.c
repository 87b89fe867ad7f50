#include "util/json.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void append(Json *j, const char *fmt, ...) {
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        size_t room = j->capacity - j->length;
        int n = vsnprintf(j->text + j->length, room, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < room) { j->length += (size_t)n; return; }
        j->capacity = j->capacity * 2 + (size_t)n + 64;
        j->text = realloc(j->text, j->capacity);
    }
}

static void key(Json *j, const char *k) { append(j, "%s\"%s\":", j->items++ ? "," : "", k); }

void json_begin(Json *j) {
    j->capacity = 256;
    j->text = malloc(j->capacity);
    j->length = 0;
    j->items = 0;
    append(j, "{");
}

void json_number(Json *j, const char *k, double v) {
    key(j, k);
    if (isfinite(v)) append(j, "%.9g", v);
    else append(j, "null");   /* JSON has no NaN or infinity */
}

void json_int(Json *j, const char *k, long long v) { key(j, k); append(j, "%lld", v); }

void json_string(Json *j, const char *k, const char *v) {
    key(j, k);
    append(j, "\"");
    for (const char *p = v; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') append(j, "\\%c", c);
        else if (c < 0x20) append(j, "\\u%04x", c);
        else append(j, "%c", c);
    }
    append(j, "\"");
}

void json_raw(Json *j, const char *k, const char *raw) { key(j, k); append(j, "%s", raw); }

const char *json_end(Json *j) { append(j, "}"); return j->text; }

void json_free(Json *j) { free(j->text); memset(j, 0, sizeof *j); }
