/* A small JSON reader (RFC 8259) into a tree, for files such as a Hugging Face
 * tokenizer.json. Strings are decoded to UTF-8 (NUL allowed inside: use length);
 * invalid UTF-8, lone surrogate escapes, raw control bytes and nesting deeper than
 * JSON_MAX_DEPTH are refused. Object keys keep their file order; duplicates are kept. */
#ifndef UTIL_JSON_READ_H
#define UTIL_JSON_READ_H
#include <stddef.h>

enum { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };
enum { JSON_MAX_DEPTH = 128 };

typedef struct JsonValue {
    int type;
    double number;
    char *string;               /* JSON_STRING: NUL-terminated, length bytes */
    size_t length;
    struct JsonValue *items;    /* JSON_ARRAY: elements; JSON_OBJECT: values */
    char **keys;                /* JSON_OBJECT: keys (NUL-terminated), count of them */
    size_t *key_lengths;
    int count;
} JsonValue;

/* json_read_value's flags. JSON_LENIENT_TEXT reads strings as a text corpus is taken: raw
 * bytes kept as they are (not checked as UTF-8), a lone surrogate escape as U+FFFD (Python's
 * json writes them rather than refuse). */
enum { JSON_LENIENT_TEXT = 1 };

/* One JSON value at the start of text, for callers whose messages name their own place (a
 * JSONL file's line): *end is the offset just past the value, or on bad JSON (ERR_INPUT, no
 * error set) where it went wrong, with what was expected there in *why. Bytes after the value
 * are left to the caller. ERR_FAILURE when out of memory. */
int json_read_value(const char *text, size_t bytes, int flags, JsonValue **out, size_t *end, const char **why);
/* Parses text (bytes long) as one JSON value; ERR_INPUT "SOURCE: line L: why" on bad JSON. */
int json_parse(const char *text, size_t bytes, const char *source, JsonValue **out);
void json_value_free(JsonValue *v);
/* The first value of key in an object, or NULL (also when v is not an object). */
const JsonValue *json_get(const JsonValue *v, const char *key);
#endif
