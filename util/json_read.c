#include "util/json_read.h"
#include "util/error.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *start, *p, *end;
    const char *why;        /* what was expected where the text went wrong */
    int lenient;            /* JSON_LENIENT_TEXT */
} Reader;

static int fail(Reader *r, const char *why) {
    if (!r->why) r->why = why;
    return -1;
}

static void skip_space(Reader *r) {
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\r' || *r->p == '\n')) r->p++;
}

/* One UTF-8 sequence at p (well-formed, shortest form, no surrogates); its length or 0. */
static int utf8_length(const unsigned char *p, const unsigned char *end) {
    int n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;
    if (!n || end - p < n) return 0;
    uint32_t c = n == 1 ? *p : n == 2 ? *p & 0x1f : n == 3 ? *p & 0x0f : *p & 0x07;
    for (int i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) return 0;
        c = c << 6 | (p[i] & 0x3f);
    }
    static const uint32_t least[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < least[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return 0;
    return n;
}

static size_t put_utf8(char *out, unsigned cp) {
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) { out[0] = (char)(0xc0 | cp >> 6); out[1] = (char)(0x80 | (cp & 0x3f)); return 2; }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12), out[1] = (char)(0x80 | ((cp >> 6) & 0x3f)), out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18), out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

static int hex4(Reader *r, unsigned *value) {
    if (r->end - r->p < 4) return fail(r, "four hex digits after \\u");
    *value = 0;
    for (int i = 0; i < 4; i++) {
        char h = *r->p++;
        int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
        if (d < 0) return fail(r, "four hex digits after \\u");
        *value = *value * 16 + (unsigned)d;
    }
    return 0;
}

/* The string at r->p (its opening quote) into a malloc'd buffer: the decoded text is never
 * longer than the quoted one, so one allocation of that size suffices. */
static int read_string(Reader *r, char **out, size_t *length) {
    const char *q = ++r->p;
    while (q < r->end && *q != '"') q += *q == '\\' && q + 1 < r->end ? 2 : 1;
    if (q >= r->end) return fail(r, "a closing quote");
    char *s = malloc((size_t)(q - r->p) + 1);
    if (!s) return fail(r, "memory for a string (out of memory)");
    size_t at = 0;
    while (*r->p != '"') {
        unsigned char c = (unsigned char)*r->p;
        if (c < 0x20) { free(s); return fail(r, "no raw control characters in a string"); }
        if (c != '\\') {
            int n = utf8_length((const unsigned char *)r->p, (const unsigned char *)r->end);
            if (!n && r->lenient) n = 1;   /* the byte kept as it is */
            if (!n) { free(s); return fail(r, "valid UTF-8 in a string"); }
            memcpy(s + at, r->p, (size_t)n);
            at += (size_t)n, r->p += n;
            continue;
        }
        char e = *++r->p;
        r->p++;
        const char *simple = strchr("\"\\/bfnrt", e);
        if (e && simple) {
            s[at++] = "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
            continue;
        }
        unsigned cp, low;
        if (e != 'u' || hex4(r, &cp)) { free(s); return fail(r, "a valid escape"); }
        if (r->lenient && cp >= 0xd800 && cp <= 0xdfff) {
            /* a pair decoded, a lone half read as U+FFFD (what follows it is read afresh) */
            const char *back = r->p;
            if (cp <= 0xdbff && r->end - r->p >= 6 && r->p[0] == '\\' && r->p[1] == 'u') {
                r->p += 2;
                if (hex4(r, &low)) { free(s); return -1; }
                if (low >= 0xdc00 && low <= 0xdfff) cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
                else r->p = back, cp = 0xfffd;
            } else {
                cp = 0xfffd;
            }
        }
        if (cp >= 0xdc00 && cp <= 0xdfff) { free(s); return fail(r, "no lone low surrogate escape"); }
        if (cp >= 0xd800 && cp <= 0xdbff) {
            if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u') { free(s); return fail(r, "a low surrogate after a high one"); }
            r->p += 2;
            if (hex4(r, &low) || low < 0xdc00 || low > 0xdfff) { free(s); return fail(r, "a low surrogate after a high one"); }
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        }
        at += put_utf8(s + at, cp);   /* 12 escaped bytes never decode to more than 4 */
    }
    r->p++;
    s[at] = 0;
    *out = s, *length = at;
    return 0;
}

/* RFC 8259's number grammar, then strtod on the checked span. */
static int read_number(Reader *r, double *value) {
    const char *p = r->p, *e = r->end;
    if (p < e && *p == '-') p++;
    if (p < e && *p == '0') p++;
    else if (p < e && *p >= '1' && *p <= '9') while (p < e && *p >= '0' && *p <= '9') p++;
    else return fail(r, "a value");
    if (p < e && *p == '.') {
        if (++p >= e || *p < '0' || *p > '9') return fail(r, "digits after '.'");
        while (p < e && *p >= '0' && *p <= '9') p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        if (++p < e && (*p == '+' || *p == '-')) p++;
        if (p >= e || *p < '0' || *p > '9') return fail(r, "digits in the exponent");
        while (p < e && *p >= '0' && *p <= '9') p++;
    }
    char buffer[64];
    size_t n = (size_t)(p - r->p);
    if (n >= sizeof buffer) return fail(r, "a number of at most 63 characters");
    memcpy(buffer, r->p, n);
    buffer[n] = 0;
    *value = strtod(buffer, NULL);
    r->p = p;
    return 0;
}

static int read_value(Reader *r, JsonValue *v, int depth);

/* Grows a container's arrays to hold one more. */
static int grow(Reader *r, JsonValue *v, int *capacity) {
    if (v->count < *capacity) return 0;
    int cap = *capacity ? 2 * *capacity : 8;
    JsonValue *items = realloc(v->items, sizeof *items * (size_t)cap);
    if (items) v->items = items;
    if (v->type == JSON_OBJECT && items) {
        char **keys = realloc(v->keys, sizeof *keys * (size_t)cap);
        if (keys) v->keys = keys;
        size_t *lengths = keys ? realloc(v->key_lengths, sizeof *lengths * (size_t)cap) : NULL;
        if (lengths) v->key_lengths = lengths;
        if (!lengths) items = NULL;
    }
    if (!items) return fail(r, "memory (out of memory)");
    *capacity = cap;
    return 0;
}

static int read_container(Reader *r, JsonValue *v, int depth) {
    int object = *r->p == '{', capacity = 0;
    char close = object ? '}' : ']';
    v->type = object ? JSON_OBJECT : JSON_ARRAY;
    r->p++;
    skip_space(r);
    if (r->p < r->end && *r->p == close) { r->p++; return 0; }
    for (;;) {
        skip_space(r);
        if (grow(r, v, &capacity)) return -1;
        if (object) {
            if (r->p >= r->end || *r->p != '"') return fail(r, "a key string");
            if (read_string(r, &v->keys[v->count], &v->key_lengths[v->count])) return -1;
            skip_space(r);
            if (r->p >= r->end || *r->p != ':') {
                free(v->keys[v->count]);
                return fail(r, "':' after a key");
            }
            r->p++;
        }
        memset(&v->items[v->count], 0, sizeof v->items[0]);
        v->count++;   /* counted before it is read, so that a failure frees it */
        if (read_value(r, &v->items[v->count - 1], depth + 1)) return -1;
        skip_space(r);
        if (r->p >= r->end) return fail(r, object ? "',' or '}'" : "',' or ']'");
        if (*r->p == close) { r->p++; return 0; }
        if (*r->p != ',') return fail(r, object ? "',' or '}'" : "',' or ']'");
        r->p++;
    }
}

static int read_value(Reader *r, JsonValue *v, int depth) {
    skip_space(r);
    if (depth > JSON_MAX_DEPTH) return fail(r, "less nesting (at most 128 levels)");
    if (r->p >= r->end) return fail(r, "a value");
    static const struct { const char *word; int type; } words[] = {
        {"null", JSON_NULL}, {"false", JSON_FALSE}, {"true", JSON_TRUE}};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(words[i].word);
        if (*r->p == words[i].word[0]) {
            if ((size_t)(r->end - r->p) < n || memcmp(r->p, words[i].word, n)) return fail(r, "a value");
            r->p += n;
            v->type = words[i].type;
            return 0;
        }
    }
    if (*r->p == '{' || *r->p == '[') return read_container(r, v, depth);
    if (*r->p == '"') {
        v->type = JSON_STRING;
        return read_string(r, &v->string, &v->length);
    }
    v->type = JSON_NUMBER;
    return read_number(r, &v->number);
}

static void free_inside(JsonValue *v) {
    for (int i = 0; i < v->count; i++) {
        free_inside(&v->items[i]);
        if (v->type == JSON_OBJECT) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->key_lengths);
    free(v->string);
}

void json_value_free(JsonValue *v) {
    if (!v) return;
    free_inside(v);
    free(v);
}

int json_read_value(const char *text, size_t bytes, int flags, JsonValue **out, size_t *end, const char **why) {
    *out = NULL, *why = NULL, *end = 0;
    Reader r = {text, text, text + bytes, NULL, flags & JSON_LENIENT_TEXT};
    JsonValue *v = calloc(1, sizeof *v);
    if (!v) return error_set(ERR_FAILURE, "out of memory reading JSON");
    if (read_value(&r, v, 0)) {
        json_value_free(v);
        *why = r.why, *end = (size_t)(r.p - text);
        return ERR_INPUT;
    }
    *out = v, *end = (size_t)(r.p - text);
    return OK;
}

int json_parse(const char *text, size_t bytes, const char *source, JsonValue **out) {
    size_t end;
    const char *why;
    int rc = json_read_value(text, bytes, 0, out, &end, &why);
    if (rc == ERR_FAILURE) return error_set(ERR_FAILURE, "out of memory reading %s", source);
    if (rc == OK) {
        while (end < bytes && (text[end] == ' ' || text[end] == '\t' || text[end] == '\r' || text[end] == '\n')) end++;
        if (end == bytes) return OK;
        json_value_free(*out);
        *out = NULL;
        why = "the end of the text after one value";
    }
    int line = 1;
    for (size_t i = 0; i < end; i++) line += text[i] == '\n';
    return error_set(ERR_INPUT, "%s: line %d: bad JSON: expected %s", source, line, why);
}

const JsonValue *json_get(const JsonValue *v, const char *key) {
    if (!v || v->type != JSON_OBJECT) return NULL;
    size_t n = strlen(key);
    for (int i = 0; i < v->count; i++)
        if (v->key_lengths[i] == n && !memcmp(v->keys[i], key, n)) return &v->items[i];
    return NULL;
}
