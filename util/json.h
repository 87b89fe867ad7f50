/* A tiny JSON object writer for the --json lines and the stored configs. */
#ifndef UTIL_JSON_H
#define UTIL_JSON_H
#include <stddef.h>

typedef struct {
    char *text;
    size_t length, capacity;
    int items;
} Json;

void json_begin(Json *j);                 /* "{" */
void json_number(Json *j, const char *key, double value);
void json_int(Json *j, const char *key, long long value);
void json_string(Json *j, const char *key, const char *value);
void json_raw(Json *j, const char *key, const char *raw_json);
const char *json_end(Json *j);            /* "}"; returns the text, owned by j */
void json_free(Json *j);
#endif
