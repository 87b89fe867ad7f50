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

/* Parses text (bytes long) as one JSON value; ERR_INPUT "SOURCE: line L: why" on bad JSON. */
int json_parse(const char *text, size_t bytes, const char *source, JsonValue **out);
void json_value_free(JsonValue *v);
/* The first value of key in an object, or NULL (also when v is not an object). */
const JsonValue *json_get(const JsonValue *v, const char *key);
#endif
