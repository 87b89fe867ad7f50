/* A JSON reader for one line at a time (RFC 8259), enough to take one string field out of
 * each object: strings are decoded only for the field wanted, everything else is skipped
 * after it is checked. Nesting is bounded so that a crafted line cannot exhaust the stack. */
#include "data/jsonl.h"
#include "util/error.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_DEPTH = 512 };

typedef struct {
    const char *p, *end;
    const char *why;        /* what was expected where the line went wrong */
    char *out;              /* the decoded field (grown as needed), when decoding */
    size_t out_bytes, out_capacity;
} Cursor;

static int fail(Cursor *c, const char *why) {
    c->why = why;
    return -1;
}

static void skip_space(Cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n')) c->p++;
}

static int put(Cursor *c, const char *bytes, size_t n) {
    if (c->out_bytes + n > c->out_capacity) {
        size_t cap = c->out_capacity ? c->out_capacity * 2 : 4096;
        while (cap < c->out_bytes + n) cap *= 2;
        char *bigger = realloc(c->out, cap);
        if (!bigger) return fail(c, "memory for the document (out of memory)");
        c->out = bigger, c->out_capacity = cap;
    }
    memcpy(c->out + c->out_bytes, bytes, n);
    c->out_bytes += n;
    return 0;
}

static int hex4(Cursor *c, unsigned *value) {
    if (c->end - c->p < 4) return fail(c, "four hex digits after \\u");
    *value = 0;
    for (int i = 0; i < 4; i++) {
        char h = *c->p++;
        int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
        if (d < 0) return fail(c, "four hex digits after \\u");
        *value = *value * 16 + (unsigned)d;
    }
    return 0;
}

static int put_utf8(Cursor *c, unsigned cp) {
    char b[4];
    size_t n;
    if (cp < 0x80) b[0] = (char)cp, n = 1;
    else if (cp < 0x800) b[0] = (char)(0xc0 | cp >> 6), b[1] = (char)(0x80 | (cp & 0x3f)), n = 2;
    else if (cp < 0x10000)
        b[0] = (char)(0xe0 | cp >> 12), b[1] = (char)(0x80 | ((cp >> 6) & 0x3f)), b[2] = (char)(0x80 | (cp & 0x3f)), n = 3;
    else
        b[0] = (char)(0xf0 | cp >> 18), b[1] = (char)(0x80 | ((cp >> 12) & 0x3f)),
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), b[3] = (char)(0x80 | (cp & 0x3f)), n = 4;
    return put(c, b, n);
}

/* A string at c->p (the opening quote); decoded into c->out when decode is set. A lone
 * surrogate escape is kept as U+FFFD, as Python's json does not refuse it either. */
static int string(Cursor *c, int decode) {
    c->p++;
    while (c->p < c->end) {
        const char *run = c->p;
        while (c->p < c->end && *c->p != '"' && *c->p != '\\' && (unsigned char)*c->p >= 0x20) c->p++;
        if (decode && c->p > run && put(c, run, (size_t)(c->p - run))) return -1;
        if (c->p == c->end) break;
        char ch = *c->p++;
        if (ch == '"') return 0;
        if (ch != '\\') return fail(c, "no raw control characters in a string");
        if (c->p == c->end) break;
        char e = *c->p++, single = 0;
        unsigned cp;
        switch (e) {
        case '"': single = '"'; break;
        case '\\': single = '\\'; break;
        case '/': single = '/'; break;
        case 'b': single = '\b'; break;
        case 'f': single = '\f'; break;
        case 'n': single = '\n'; break;
        case 'r': single = '\r'; break;
        case 't': single = '\t'; break;
        case 'u':
            if (hex4(c, &cp)) return -1;
            if (cp >= 0xd800 && cp < 0xdc00 && c->end - c->p >= 6 && c->p[0] == '\\' && c->p[1] == 'u') {
                const char *back = c->p;
                unsigned low;
                c->p += 2;
                if (hex4(c, &low)) return -1;
                if (low >= 0xdc00 && low < 0xe000) cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
                else c->p = back, cp = 0xfffd;
            } else if (cp >= 0xd800 && cp < 0xe000) {
                cp = 0xfffd;
            }
            if (decode && put_utf8(c, cp)) return -1;
            continue;
        default: return fail(c, "a valid escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
        }
        if (decode && put(c, &single, 1)) return -1;
    }
    return fail(c, "a closing quote");
}

static int value(Cursor *c, int depth);

static int number(Cursor *c) {
    if (c->p < c->end && *c->p == '-') c->p++;
    const char *digits = c->p;
    while (c->p < c->end && ((*c->p >= '0' && *c->p <= '9') || *c->p == '.' || *c->p == 'e' ||
                             *c->p == 'E' || *c->p == '+' || *c->p == '-'))
        c->p++;
    if (c->p == digits || !(*digits >= '0' && *digits <= '9')) return fail(c, "a value");
    return 0;
}

static int literal(Cursor *c, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n)) return fail(c, "a value");
    c->p += n;
    return 0;
}

/* An array or object at c->p, skipped. */
static int container(Cursor *c, int depth) {
    char close = *c->p == '{' ? '}' : ']';
    int object = close == '}';
    if (depth >= MAX_DEPTH) return fail(c, "less nesting (at most 512 levels)");
    c->p++;
    skip_space(c);
    if (c->p < c->end && *c->p == close) return c->p++, 0;
    for (;;) {
        skip_space(c);
        if (object) {
            if (c->p == c->end || *c->p != '"') return fail(c, "a key in quotes");
            if (string(c, 0)) return -1;
            skip_space(c);
            if (c->p == c->end || *c->p++ != ':') return fail(c, "':' after a key");
        }
        if (value(c, depth + 1)) return -1;
        skip_space(c);
        if (c->p < c->end && *c->p == ',') { c->p++; continue; }
        if (c->p < c->end && *c->p == close) return c->p++, 0;
        return fail(c, object ? "',' or '}'" : "',' or ']'");
    }
}

static int value(Cursor *c, int depth) {
    skip_space(c);
    if (c->p == c->end) return fail(c, "a value");
    switch (*c->p) {
    case '"': return string(c, 0);
    case '{': case '[': return container(c, depth);
    case 't': return literal(c, "true");
    case 'f': return literal(c, "false");
    case 'n': return literal(c, "null");
    default: return number(c);
    }
}

/* One line: an object whose member named field is a string, decoded into c->out. */
static int line_document(Cursor *c, const char *field, size_t field_bytes, int *found) {
    *found = 0;
    c->out_bytes = 0;
    skip_space(c);
    if (c->p == c->end || *c->p != '{') return fail(c, "a JSON object");
    c->p++;
    skip_space(c);
    if (c->p < c->end && *c->p == '}') c->p++;
    else for (;;) {
        skip_space(c);
        if (c->p == c->end || *c->p != '"') return fail(c, "a key in quotes");
        const char *key = c->p + 1;
        if (string(c, 0)) return -1;
        int wanted = (size_t)(c->p - 1 - key) == field_bytes && !memcmp(key, field, field_bytes);
        skip_space(c);
        if (c->p == c->end || *c->p++ != ':') return fail(c, "':' after a key");
        skip_space(c);
        if (wanted && !*found) {
            if (c->p == c->end || *c->p != '"') return fail(c, "a string as the document field");
            if (string(c, 1)) return -1;
            *found = 1;
        } else if (value(c, 1)) {
            return -1;
        }
        skip_space(c);
        if (c->p < c->end && *c->p == ',') { c->p++; continue; }
        if (c->p < c->end && *c->p == '}') { c->p++; break; }
        return fail(c, "',' or '}'");
    }
    skip_space(c);
    if (c->p != c->end) return fail(c, "the end of the line after the object");
    return 0;
}

int jsonl_read(const char *path, const char *text, size_t bytes, const char *field,
               JsonlDocument on_document, void *user) {
    if (!field) field = JSONL_DEFAULT_FIELD;
    Cursor c = {0};
    int rc = OK;
    long number = 0;
    for (size_t at = 0; at < bytes && !rc;) {
        const char *line = text + at, *newline = memchr(line, '\n', bytes - at);
        size_t length = newline ? (size_t)(newline - line) : bytes - at;
        at += length + (newline != NULL);
        number++;
        size_t k = 0;
        while (k < length && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r')) k++;
        if (k == length) continue;   /* a blank line */
        c.p = line, c.end = line + length;
        int found;
        if (line_document(&c, field, strlen(field), &found)) {
            rc = error_set(ERR_INPUT, "%s:%ld: not a JSON line: expected %s at column %ld", path, number,
                           c.why, (long)(c.p - line) + 1);
        } else if (!found) {
            rc = error_set(ERR_INPUT, "%s:%ld: no \"%s\" field (give the document's field with "
                           "--jsonl-field)", path, number, field);
        } else {
            rc = on_document(user, c.out ? c.out : "", c.out_bytes, number);
        }
    }
    free(c.out);
    return rc;
}

int jsonl_path(const char *path) {
    size_t n = strlen(path);
    return n >= 6 && !strcmp(path + n - 6, ".jsonl");
}
