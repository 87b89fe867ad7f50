/* JSON Lines corpora, as datasets libraries export them: one JSON object a line, the
 * document in one string field ("text" by default). Only that field is decoded; the rest of
 * each object is checked to be JSON and skipped. */
#ifndef DATA_JSONL_H
#define DATA_JSONL_H
#include <stddef.h>

#define JSONL_DEFAULT_FIELD "text"

/* Called with each line's decoded field (UTF-8, not NUL-terminated; empty ones included)
 * and its 1-based line number; a non-zero return stops the reading and is returned. */
typedef int (*JsonlDocument)(void *user, const char *text, size_t bytes, long line);

/* Reads the JSONL text of the file named path (for messages). Blank lines are skipped.
 * ERR_INPUT "PATH:LINE: ..." for a line that is not a JSON object, lacks the field or holds
 * it as another type than a string, or has bytes after the object. */
int jsonl_read(const char *path, const char *text, size_t bytes, const char *field,
               JsonlDocument on_document, void *user);
/* Whether path names a JSON Lines file (ends in .jsonl). */
int jsonl_path(const char *path);
#endif
