/* A tokenizer.bin (as given, then with its checksum recomputed) through tokenizer_load and
 * tokenizer_json_write: both files written must be valid JSON (strings valid UTF-8 without raw
 * control bytes), and tokenizer.json's model.vocab must map V distinct strings to the ids
 * 0..V-1, each once, so that an HF loader sees every token. */
#include "data/tokenizer.h"
#include "data/tokenizer_json.h"
#include "util/fileio.h"
#include "tests/fuzz/fuzz_common.h"

typedef struct {
    const char *p, *end;
    int depth;
    /* model.vocab: the key spans and values, checked after the parse */
    const char **keys;
    int *key_bytes;
    long *ids;
    int n_vocab, cap_vocab, in_vocab;
} Json;

static void skip_space(Json *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\t' || *j->p == '\r')) j->p++;
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

static int parse_value(Json *j);

static int parse_string(Json *j, const char **start, int *bytes) {
    if (j->p >= j->end || *j->p != '"') return 0;
    *start = ++j->p;
    while (j->p < j->end && *j->p != '"') {
        unsigned char c = (unsigned char)*j->p;
        if (c < 0x20) return 0;                                     /* raw control byte */
        if (c == '\\') {
            if (++j->p >= j->end) return 0;
            if (*j->p == 'u') {
                if (j->end - j->p < 5) return 0;
                for (int i = 1; i <= 4; i++)
                    if (!strchr("0123456789abcdefABCDEF", j->p[i]) || !j->p[i]) return 0;
                j->p += 5;
            } else if (strchr("\"\\/bfnrt", *j->p) && *j->p) {
                j->p++;
            } else {
                return 0;
            }
            continue;
        }
        int n = utf8_length((const unsigned char *)j->p, (const unsigned char *)j->end);
        if (!n) return 0;
        j->p += n;
    }
    if (j->p >= j->end) return 0;
    *bytes = (int)(j->p - *start);
    j->p++;
    return 1;
}

static int parse_number(Json *j, long *value) {
    char *after;
    double v = strtod(j->p, &after);
    if (after == j->p || after > j->end) return 0;
    j->p = after;
    *value = (long)(v >= -1e18 && v <= 1e18 ? v : -1);
    return 1;
}

static int parse_object(Json *j, int is_vocab) {
    j->p++;
    skip_space(j);
    if (j->p < j->end && *j->p == '}') { j->p++; return 1; }
    for (;;) {
        const char *key;
        int key_bytes;
        skip_space(j);
        if (!parse_string(j, &key, &key_bytes)) return 0;
        skip_space(j);
        if (j->p >= j->end || *j->p++ != ':') return 0;
        skip_space(j);
        if (is_vocab) {
            long id;
            if (!parse_number(j, &id)) return 0;
            if (j->n_vocab == j->cap_vocab) {
                j->cap_vocab = j->cap_vocab ? 2 * j->cap_vocab : 512;
                j->keys = realloc(j->keys, sizeof *j->keys * (size_t)j->cap_vocab);
                j->key_bytes = realloc(j->key_bytes, sizeof *j->key_bytes * (size_t)j->cap_vocab);
                j->ids = realloc(j->ids, sizeof *j->ids * (size_t)j->cap_vocab);
                if (!j->keys || !j->key_bytes || !j->ids) abort();
            }
            j->keys[j->n_vocab] = key, j->key_bytes[j->n_vocab] = key_bytes, j->ids[j->n_vocab++] = id;
        } else if (key_bytes == 5 && !memcmp(key, "vocab", 5) && j->p < j->end && *j->p == '{') {
            j->in_vocab++;
            if (!parse_object(j, 1)) return 0;
        } else if (!parse_value(j)) {
            return 0;
        }
        skip_space(j);
        if (j->p >= j->end) return 0;
        if (*j->p == '}') { j->p++; return 1; }
        if (*j->p++ != ',') return 0;
    }
}

static int parse_value(Json *j) {
    skip_space(j);
    if (j->p >= j->end || ++j->depth > 64) return 0;
    int ok;
    const char *s;
    int n;
    long v;
    switch (*j->p) {
    case '{': ok = parse_object(j, 0); break;
    case '[':
        j->p++;
        skip_space(j);
        if (j->p < j->end && *j->p == ']') { j->p++; ok = 1; break; }
        for (ok = 0;;) {
            if (!parse_value(j)) break;
            skip_space(j);
            if (j->p >= j->end) break;
            if (*j->p == ']') { j->p++; ok = 1; break; }
            if (*j->p++ != ',') break;
        }
        break;
    case '"': ok = parse_string(j, &s, &n); break;
    case 't': ok = j->end - j->p >= 4 && !memcmp(j->p, "true", 4), j->p += ok ? 4 : 0; break;
    case 'f': ok = j->end - j->p >= 5 && !memcmp(j->p, "false", 5), j->p += ok ? 5 : 0; break;
    case 'n': ok = j->end - j->p >= 4 && !memcmp(j->p, "null", 4), j->p += ok ? 4 : 0; break;
    default: ok = parse_number(j, &v); break;
    }
    j->depth--;
    return ok;
}

static const Json *sort_json;
static int by_key(const void *a, const void *b) {
    int i = *(const int *)a, k = *(const int *)b;
    int n = sort_json->key_bytes[i] < sort_json->key_bytes[k] ? sort_json->key_bytes[i] : sort_json->key_bytes[k];
    int c = memcmp(sort_json->keys[i], sort_json->keys[k], (size_t)n);
    return c ? c : sort_json->key_bytes[i] - sort_json->key_bytes[k];
}

/* Parses path as one JSON value; for tokenizer.json (vocab >= 0) also checks model.vocab. */
static void check_json(const char *path, int vocab) {
    char *text;
    size_t bytes;
    if (read_file(path, &text, &bytes)) abort();   /* written just now: must read back */
    Json j = {.p = text, .end = text + bytes};
    if (!parse_value(&j)) abort();
    skip_space(&j);
    if (j.p != j.end) abort();
    if (vocab >= 0) {
        if (j.in_vocab != 1 || j.n_vocab != vocab) abort();
        char *seen = calloc((size_t)vocab, 1);
        int *order = malloc(sizeof *order * (size_t)(vocab ? vocab : 1));
        for (int i = 0; i < j.n_vocab; i++) {
            if (j.ids[i] < 0 || j.ids[i] >= vocab || seen[j.ids[i]]) abort();
            seen[j.ids[i]] = 1;
            order[i] = i;
        }
        sort_json = &j;
        qsort(order, (size_t)vocab, sizeof *order, by_key);
        for (int i = 1; i < vocab; i++)
            if (!by_key(&order[i - 1], &order[i])) abort();        /* two tokens, one string */
        free(seen);
        free(order);
    }
    free(j.keys);
    free(j.key_bytes);
    free(j.ids);
    free(text);
}

static void load_and_write(const char *path) {
    Tokenizer *tok;
    if (tokenizer_load(&tok, path)) return;
    char dir[700], file[800];
    snprintf(dir, sizeof dir, "%s/json", fuzz_dir());
    mkdir(dir, 0700);
    if (tokenizer_json_write(tok, dir, 64) == 0) {
        snprintf(file, sizeof file, "%s/tokenizer.json", dir);
        check_json(file, tokenizer_vocab_size(tok));
        snprintf(file, sizeof file, "%s/tokenizer_config.json", dir);
        check_json(file, -1);
    }
    tokenizer_free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[600];
    fuzz_write_file(path, sizeof path, "tokenizer.bin", data, size);
    load_and_write(path);
    if (size < 32) return 0;
    uint8_t *copy = malloc(size);
    memcpy(copy, data, size);
    fuzz_fix_tokenizer_checksum(copy, size);
    fuzz_write_file(path, sizeof path, "tokenizer.bin", copy, size);
    load_and_write(path);
    free(copy);
    return 0;
}
