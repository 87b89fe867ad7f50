#include "formats/safetensors.h"
#include "util/error.h"
#include "util/fileio.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* A strict reader for the subset of JSON that safetensors headers use: one object whose
 * values are tensor objects (dtype, shape, data_offsets) or the __metadata__ string map. */
typedef struct {
    const char *p, *end, *path;
    int failed;
} Parser;

static int fail(Parser *ps, const char *what) {
    if (!ps->failed) error_set(ERR_INPUT, "%s: bad safetensors header: %s", ps->path, what);
    ps->failed = 1;
    return ERR_INPUT;
}

static void skip_space(Parser *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t'))
        ps->p++;
}

static int expect(Parser *ps, char c) {
    skip_space(ps);
    if (ps->p >= ps->end || *ps->p != c) {
        char what[32];
        snprintf(what, sizeof what, "expected '%c'", c);
        return fail(ps, what);
    }
    ps->p++;
    return OK;
}

static int peek(Parser *ps, char c) {
    skip_space(ps);
    return ps->p < ps->end && *ps->p == c;
}

/* Reads a string into out; one longer than size - 1 is refused (truncating could make two
 * names equal), as are escapes other than \" \\ \/ \n. */
static int parse_string(Parser *ps, char *out, size_t size) {
    if (expect(ps, '"')) return ERR_INPUT;
    size_t n = 0;
    while (ps->p < ps->end && *ps->p != '"') {
        char c = *ps->p++;
        if (c == '\\') {
            if (ps->p >= ps->end) break;
            c = *ps->p++;
            if (c == 'n') c = '\n';
            else if (c != '"' && c != '\\' && c != '/') return fail(ps, "unsupported escape");
        }
        if (n + 1 >= size) return fail(ps, "string too long");
        out[n++] = c;
    }
    if (ps->p >= ps->end) return fail(ps, "unterminated string");
    ps->p++;
    out[n] = 0;
    return OK;
}

/* Digits up to ps->end only: the header is not NUL-terminated, and strtoll would read on
 * into the tensor data (or past the mapping when the header ends the file). */
static int parse_integer(Parser *ps, long *value) {
    skip_space(ps);
    if (ps->p >= ps->end || (*ps->p < '0' || *ps->p > '9')) return fail(ps, "expected a number");
    long v = 0;
    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
        if (__builtin_mul_overflow(v, 10L, &v) || __builtin_add_overflow(v, (long)(*ps->p - '0'), &v))
            return fail(ps, "number too large");
        ps->p++;
    }
    *value = v;
    return OK;
}

/* [a, b, ...] into values (at most max); count receives the length */
static int parse_integer_list(Parser *ps, long *values, int max, int *count) {
    if (expect(ps, '[')) return ERR_INPUT;
    *count = 0;
    if (peek(ps, ']')) { ps->p++; return OK; }
    for (;;) {
        long v;
        if (parse_integer(ps, &v)) return ERR_INPUT;
        if (*count >= max) return fail(ps, "list too long");
        values[(*count)++] = v;
        if (peek(ps, ',')) { ps->p++; continue; }
        return expect(ps, ']');
    }
}

static int parse_tensor(Parser *ps, SafeTensorInfo *t) {
    if (expect(ps, '{')) return ERR_INPUT;
    int seen = 0;
    while (!peek(ps, '}')) {
        char key[64];
        if (parse_string(ps, key, sizeof key) || expect(ps, ':')) return ERR_INPUT;
        if (!strcmp(key, "dtype")) {
            if (parse_string(ps, t->dtype, sizeof t->dtype)) return ERR_INPUT;
            seen |= 1;
        } else if (!strcmp(key, "shape")) {
            if (parse_integer_list(ps, t->shape, 4, &t->ndim)) return ERR_INPUT;
            seen |= 2;
        } else if (!strcmp(key, "data_offsets")) {
            long offsets[2];
            int n;
            if (parse_integer_list(ps, offsets, 2, &n)) return ERR_INPUT;
            if (n != 2 || offsets[1] < offsets[0]) return fail(ps, "bad data_offsets");
            t->begin = (size_t)offsets[0];
            t->end = (size_t)offsets[1];
            seen |= 4;
        } else {
            return fail(ps, "unknown tensor field");
        }
        if (peek(ps, ',')) ps->p++;
    }
    ps->p++;
    return seen == 7 ? OK : fail(ps, "tensor entry lacks dtype, shape or data_offsets");
}

static int out_of_memory(Parser *ps) {
    if (!ps->failed) error_set(ERR_FAILURE, "%s: out of memory reading the safetensors header", ps->path);
    ps->failed = 1;
    return ERR_FAILURE;
}

/* Values are read into one scratch buffer and kept at their own length: a header of many
 * short entries must not cost a buffer of the longest allowed value each. */
static int parse_metadata(Parser *ps, SafeTensors *st) {
    if (expect(ps, '{')) return ERR_INPUT;
    char *value = malloc(SAFETENSORS_META_VALUE_MAX + 1);
    if (!value) return out_of_memory(ps);
    int rc = OK, capacity = st->meta_count;
    while (!rc && !peek(ps, '}')) {
        char key[256];
        if ((rc = parse_string(ps, key, sizeof key)) || (rc = expect(ps, ':')) ||
            (rc = parse_string(ps, value, SAFETENSORS_META_VALUE_MAX + 1)))
            break;
        if (st->meta_count >= SAFETENSORS_META_MAX) { rc = fail(ps, "too many metadata entries"); break; }
        if (st->meta_count == capacity) {
            capacity = capacity ? capacity * 2 : 64;
            char **keys = realloc(st->meta_keys, sizeof(char *) * (size_t)capacity);
            if (keys) st->meta_keys = keys;
            char **values = realloc(st->meta_values, sizeof(char *) * (size_t)capacity);
            if (values) st->meta_values = values;
            if (!keys || !values) { rc = out_of_memory(ps); break; }
        }
        char *k = strdup(key), *v = strdup(value);
        if (!k || !v) { free(k); free(v); rc = out_of_memory(ps); break; }
        st->meta_keys[st->meta_count] = k;
        st->meta_values[st->meta_count++] = v;
        if (peek(ps, ',')) ps->p++;
    }
    free(value);
    if (!rc) ps->p++;
    return rc;
}

static size_t dtype_size(const char *dtype) {
    if (!strcmp(dtype, "F32") || !strcmp(dtype, "I32") || !strcmp(dtype, "U32")) return 4;
    if (!strcmp(dtype, "F16") || !strcmp(dtype, "BF16") || !strcmp(dtype, "U16") || !strcmp(dtype, "I16")) return 2;
    if (!strcmp(dtype, "I8") || !strcmp(dtype, "U8")) return 1;
    if (!strcmp(dtype, "F64") || !strcmp(dtype, "I64")) return 8;
    return 0;
}

static int parse_header(Parser *ps, SafeTensors *st) {
    if (expect(ps, '{')) return ERR_INPUT;
    int capacity = 0;
    while (!peek(ps, '}')) {
        char name[128];
        if (parse_string(ps, name, sizeof name) || expect(ps, ':')) return ERR_INPUT;
        if (!strcmp(name, "__metadata__")) {
            int rc = parse_metadata(ps, st);
            if (rc) return rc;
        } else {
            if (st->count == capacity) {
                capacity = capacity ? capacity * 2 : 64;
                SafeTensorInfo *grown = realloc(st->tensors, sizeof(SafeTensorInfo) * (size_t)capacity);
                if (!grown) return out_of_memory(ps);
                st->tensors = grown;
            }
            SafeTensorInfo *t = &st->tensors[st->count++];
            memset(t, 0, sizeof *t);
            snprintf(t->name, sizeof t->name, "%s", name);
            if (parse_tensor(ps, t)) return ERR_INPUT;
            size_t numel = 1, elem = dtype_size(t->dtype), bytes = 0;
            if (!elem) return fail(ps, "unknown dtype");
            /* a shape such as 2^62 x 4 must not wrap into a small, plausible byte count */
            int overflow = 0;
            for (int i = 0; i < t->ndim; i++)
                overflow |= __builtin_mul_overflow(numel, (size_t)t->shape[i], &numel);
            overflow |= __builtin_mul_overflow(numel, elem, &bytes);
            if (overflow) {
                error_set(ERR_INPUT, "%s: tensor %s: its shape overflows a byte count", ps->path, t->name);
                ps->failed = 1;
                return ERR_INPUT;
            }
            if (t->end > st->data_bytes || t->end - t->begin != bytes) {
                error_set(ERR_INPUT, "%s: tensor %s: offsets [%zu, %zu) do not match its shape or the file size (%zu data bytes)",
                          ps->path, t->name, t->begin, t->end, st->data_bytes);
                ps->failed = 1;
                return ERR_INPUT;
            }
        }
        if (peek(ps, ',')) ps->p++;
    }
    return OK;
}

int safetensors_open(SafeTensors *st, const char *path) {
    memset(st, 0, sizeof *st);
    snprintf(st->path, sizeof st->path, "%s", path);
    int fd;
    long long size;
    int rc = open_input(path, NULL, &fd, &size);
    if (rc) return rc;
    if (size < 8) {
        close(fd);
        return error_set(ERR_INPUT, "%s: not a safetensors file (too short)", path);
    }
    st->map_bytes = (size_t)size;
    st->map = mmap(NULL, st->map_bytes, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (st->map == MAP_FAILED) {
        st->map = NULL;
        return error_set(ERR_INPUT, "cannot map %s: %s", path, strerror(errno));
    }
    uint64_t header_bytes = 0;
    memcpy(&header_bytes, st->map, 8);   /* little-endian hosts only, as is every target here */
    if (header_bytes > st->map_bytes - 8) {
        safetensors_close(st);
        return error_set(ERR_INPUT, "%s: truncated or not a safetensors file (header of %llu bytes in a %zu-byte file)",
                         path, (unsigned long long)header_bytes, (size_t)size);
    }
    st->data = (const uint8_t *)st->map + 8 + header_bytes;
    st->data_bytes = st->map_bytes - 8 - header_bytes;
    Parser ps = {(const char *)st->map + 8, (const char *)st->data, path, 0};
    if ((rc = parse_header(&ps, st))) {
        char message[1024];
        snprintf(message, sizeof message, "%s", error_message());
        safetensors_close(st);
        return error_set(rc, "%s", message);
    }
    return OK;
}

void safetensors_close(SafeTensors *st) {
    if (st->map) munmap(st->map, st->map_bytes);
    for (int i = 0; i < st->meta_count; i++) { free(st->meta_keys[i]); free(st->meta_values[i]); }
    free(st->meta_keys);
    free(st->meta_values);
    free(st->tensors);
    memset(st, 0, sizeof *st);
}

const SafeTensorInfo *safetensors_find(const SafeTensors *st, const char *name) {
    for (int i = 0; i < st->count; i++)
        if (!strcmp(st->tensors[i].name, name)) return &st->tensors[i];
    return NULL;
}

const void *safetensors_f32(const SafeTensors *st, const char *name, long numel) {
    const SafeTensorInfo *t = safetensors_find(st, name);
    if (!t) { error_set(ERR_INPUT, "%s: tensor %s is missing", st->path, name); return NULL; }
    if (strcmp(t->dtype, "F32") || (long)((t->end - t->begin) / 4) != numel) {
        error_set(ERR_INPUT, "%s: tensor %s has %s x %zu values, expected F32 x %ld", st->path, name,
                  t->dtype, (t->end - t->begin) / 4, numel);
        return NULL;
    }
    return st->data + t->begin;
}

const char *safetensors_meta(const SafeTensors *st, const char *key) {
    for (int i = 0; i < st->meta_count; i++)
        if (!strcmp(st->meta_keys[i], key)) return st->meta_values[i];
    return NULL;
}

/* Appends s as a JSON string. */
static void append_string(char **buf, size_t *len, size_t *cap, const char *s) {
    size_t need = strlen(s) * 2 + 3;
    if (*len + need + 1 > *cap) { *cap = (*len + need + 1) * 2; *buf = realloc(*buf, *cap); }
    char *p = *buf + *len;
    *p++ = '"';
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') *p++ = '\\';
        if (*s == '\n') { *p++ = '\\'; *p++ = 'n'; continue; }
        *p++ = *s;
    }
    *p++ = '"';
    *p = 0;
    *len = (size_t)(p - *buf);
}

static void append_text(char **buf, size_t *len, size_t *cap, const char *s) {
    size_t n = strlen(s);
    if (*len + n + 1 > *cap) { *cap = (*len + n + 1) * 2; *buf = realloc(*buf, *cap); }
    memcpy(*buf + *len, s, n + 1);
    *len += n;
}

int safetensors_write(const char *path, const SafeTensorEntry *entries, int n,
                      const char *const *meta_keys, const char *const *meta_values, int n_meta) {
    size_t len = 0, cap = 4096, offset = 0;
    char *header = malloc(cap), item[256];
    header[0] = 0;
    append_text(&header, &len, &cap, "{");
    if (n_meta) {
        append_text(&header, &len, &cap, "\"__metadata__\":{");
        for (int i = 0; i < n_meta; i++) {
            if (i) append_text(&header, &len, &cap, ",");
            append_string(&header, &len, &cap, meta_keys[i]);
            append_text(&header, &len, &cap, ":");
            append_string(&header, &len, &cap, meta_values[i]);
        }
        append_text(&header, &len, &cap, "}");
    }
    for (int i = 0; i < n; i++) {
        size_t numel = 1;
        for (int k = 0; k < entries[i].ndim; k++) numel *= (size_t)entries[i].shape[k];
        size_t bytes = numel * dtype_size(entries[i].dtype);
        if (n_meta || i) append_text(&header, &len, &cap, ",");
        append_string(&header, &len, &cap, entries[i].name);
        snprintf(item, sizeof item, ":{\"dtype\":\"%s\",\"shape\":[", entries[i].dtype);
        append_text(&header, &len, &cap, item);
        for (int k = 0; k < entries[i].ndim; k++) {
            snprintf(item, sizeof item, "%s%ld", k ? "," : "", entries[i].shape[k]);
            append_text(&header, &len, &cap, item);
        }
        snprintf(item, sizeof item, "],\"data_offsets\":[%zu,%zu]}", offset, offset + bytes);
        append_text(&header, &len, &cap, item);
        offset += bytes;
    }
    append_text(&header, &len, &cap, "}");
    while (len % 8) append_text(&header, &len, &cap, " ");   /* keeps tensor data 8-byte aligned */
    AtomicFile af;
    uint64_t header_bytes = len;
    int rc = atomic_open(&af, path);
    if (!rc) rc = atomic_write(&af, &header_bytes, 8);
    if (!rc) rc = atomic_write(&af, header, len);
    for (int i = 0; i < n && !rc; i++) {
        size_t numel = 1;
        for (int k = 0; k < entries[i].ndim; k++) numel *= (size_t)entries[i].shape[k];
        rc = atomic_write(&af, entries[i].data, numel * dtype_size(entries[i].dtype));
    }
    free(header);
    if (rc) { atomic_abort(&af); return rc; }
    return atomic_commit(&af);
}
