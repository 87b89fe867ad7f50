/* JSON Lines: each line read by the shared JSON reader (util/json_read.c), leniently, as a
 * corpus's text is bytes; the messages name the file, the line and the column. */
#include "data/jsonl.h"
#include "util/error.h"
#include "util/json_read.h"
#include <string.h>

/* One non-blank line: its document field handed on, or ERR_INPUT naming path and line. */
static int read_line(const char *path, long number, const char *line, size_t length, const char *field,
                     JsonlDocument on_document, void *user) {
    size_t k = 0;
    while (k < length && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r')) k++;
    if (line[k] != '{')
        return error_set(ERR_INPUT, "%s:%ld: not a JSON line: expected a JSON object at column %zu", path, number, k + 1);
    JsonValue *object;
    size_t end;
    const char *why;
    int rc = json_read_value(line + k, length - k, JSON_LENIENT_TEXT, &object, &end, &why);
    if (rc == ERR_FAILURE) return error_set(ERR_FAILURE, "%s:%ld: out of memory reading the line", path, number);
    end += k;
    if (rc == OK) {
        while (end < length && (line[end] == ' ' || line[end] == '\t' || line[end] == '\r')) end++;
        if (end < length) rc = ERR_INPUT, why = "the end of the line after the object";
    }
    if (rc) {
        json_value_free(object);
        return error_set(ERR_INPUT, "%s:%ld: not a JSON line: expected %s at column %zu", path, number, why, end + 1);
    }
    const JsonValue *text = json_get(object, field);
    if (!text)
        rc = error_set(ERR_INPUT, "%s:%ld: no \"%s\" field (give the document's field with --jsonl-field)", path,
                       number, field);
    else if (text->type != JSON_STRING)
        rc = error_set(ERR_INPUT, "%s:%ld: not a JSON line: expected a string as the document field \"%s\"", path,
                       number, field);
    else
        rc = on_document(user, text->string, text->length, number);
    json_value_free(object);
    return rc;
}

int jsonl_read(const char *path, const char *text, size_t bytes, const char *field,
               JsonlDocument on_document, void *user) {
    if (!field) field = JSONL_DEFAULT_FIELD;
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
        rc = read_line(path, number, line, length, field, on_document, user);
    }
    return rc;
}

int jsonl_path(const char *path) {
    size_t n = strlen(path);
    return n >= 6 && !strcmp(path + n - 6, ".jsonl");
}
