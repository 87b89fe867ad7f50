/* verified.txt (stamps.h): one line per file, "SIZE MTIME_NS CHECKSUM NAME". */
#include "data/stamps.h"
#include "util/error.h"
#include "util/fileio.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { NAME_MAX_BYTES = 4096 };

static void path_of(char *out, size_t size, const char *dir) { snprintf(out, size, "%s/verified.txt", dir); }

void stamps_load(StampBook *book, const char *dir) {
    memset(book, 0, sizeof *book);
    char path[NAME_MAX_BYTES + 32], *text;
    size_t bytes;
    path_of(path, sizeof path, dir);
    if (!file_exists(path) || read_file(path, &text, &bytes)) {
        error_clear();
        return;
    }
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        long long size, mtime;
        uint64_t checksum;
        int at = 0;
        if (line[0] == '#' ||
            sscanf(line, "%lld %lld %" SCNx64 " %n", &size, &mtime, &checksum, &at) != 3 || !at || size <= 0)
            continue;   /* a cache: a line it cannot use is left out */
        TokenStamp s = {size, mtime, checksum};
        if (stamps_set(book, line + at, &s)) break;
    }
    free(text);
    book->changed = 0;
}

TokenStamp stamps_find(const StampBook *book, const char *name) {
    for (int i = 0; i < book->count; i++)
        if (!strcmp(book->names[i], name)) return book->stamps[i];
    TokenStamp none = {0, 0, 0};
    return none;
}

int stamps_set(StampBook *book, const char *name, const TokenStamp *stamp) {
    if (strlen(name) >= NAME_MAX_BYTES || strchr(name, '\n'))
        return error_set(ERR_INPUT, "token file name too long or multi-line: %.80s", name);
    book->changed = 1;
    for (int i = 0; i < book->count; i++)
        if (!strcmp(book->names[i], name)) {
            book->stamps[i] = *stamp;
            return OK;
        }
    if (book->count == book->capacity) {
        int cap = book->capacity ? 2 * book->capacity : 8;
        char **names = realloc(book->names, (size_t)cap * sizeof *names);
        if (names) book->names = names;
        TokenStamp *stamps = realloc(book->stamps, (size_t)cap * sizeof *stamps);
        if (stamps) book->stamps = stamps;
        if (!names || !stamps) return error_set(ERR_FAILURE, "out of memory for token file stamps");
        book->capacity = cap;
    }
    if (!(book->names[book->count] = strdup(name))) return error_set(ERR_FAILURE, "out of memory");
    book->stamps[book->count++] = *stamp;
    return OK;
}

void stamps_save(StampBook *book, const char *dir) {
    if (!book->changed) return;
    char path[NAME_MAX_BYTES + 32], line[NAME_MAX_BYTES + 96];
    path_of(path, sizeof path, dir);
    AtomicFile af;
    if (atomic_open(&af, path)) {
        error_clear();
        return;
    }
    const char *head = "# size mtime_ns checksum name: token files last read whole and found intact\n";
    int rc = atomic_write(&af, head, strlen(head));
    for (int i = 0; !rc && i < book->count; i++) {
        int n = snprintf(line, sizeof line, "%lld %lld %016" PRIx64 " %s\n", book->stamps[i].size,
                         book->stamps[i].mtime_ns, book->stamps[i].checksum, book->names[i]);
        rc = atomic_write(&af, line, (size_t)n);
    }
    if (rc) atomic_abort(&af);
    else rc = atomic_commit(&af);
    if (rc) error_clear();
    book->changed = 0;
}

void stamps_free(StampBook *book) {
    for (int i = 0; i < book->count; i++) free(book->names[i]);
    free(book->names);
    free(book->stamps);
    memset(book, 0, sizeof *book);
}
