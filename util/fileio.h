/* File helpers that never leave a partial output behind: writers go to a temporary
 * name beside the target and are renamed into place only when complete. */
#ifndef UTIL_FILEIO_H
#define UTIL_FILEIO_H
#include <stdio.h>
#include <stddef.h>

typedef struct {
    FILE *file;
    char path[4096];
    char temp_path[4096];
    int failed;
} AtomicFile;

int atomic_open(AtomicFile *af, const char *path);   /* OK or ERR_FAILURE (message set) */
int atomic_write(AtomicFile *af, const void *data, size_t bytes);
int atomic_commit(AtomicFile *af);                    /* flush, fsync, rename */
void atomic_abort(AtomicFile *af);                    /* remove the temporary file */

/* Read a whole file into a malloc'd buffer (NUL-terminated). ERR_INPUT if missing. */
int read_file(const char *path, char **data, size_t *bytes);
int make_dirs(const char *path);                      /* mkdir -p */
int file_exists(const char *path);
long long file_size(const char *path);                /* -1 if missing */
#endif
