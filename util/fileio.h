/* File helpers that never leave a partial output behind: writers go to a temporary
 * name beside the target and are renamed into place only when complete. Inputs are
 * opened only when they are regular files (a FIFO would block, a device never ends). */
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

/* The temporary is <path>.tmp.<pid>.<random>, created exclusively (never through a planted
 * file or symlink); stale ones of dead processes beside it are removed first. */
int atomic_open(AtomicFile *af, const char *path);   /* OK, ERR_INPUT (not a file) or ERR_FAILURE */
int atomic_write(AtomicFile *af, const void *data, size_t bytes);
int atomic_commit(AtomicFile *af);                    /* flush, fsync, rename */
void atomic_abort(AtomicFile *af);                    /* remove the temporary file */

/* A fresh name <path>.tmp.<pid>.<random letters> for a temporary beside path. */
int temp_name(char *out, size_t size, const char *path);
/* Removes <path>.tmp.* left by processes no longer alive (or untouched for an hour);
 * a folder among them (a half-written bundle) goes with its files. */
void remove_stale_temps(const char *path);
/* ERR_INPUT naming path when it exists and is not a regular file (a FIFO, a device, a
 * folder): an output written there would replace it. atomic_open checks it. */
int check_output_file(const char *path);
/* A folder written whole or not at all (bundles, HF exports): temp_dir_create makes a fresh
 * <target>.tmp.<pid>.<random> (mkdir, so never through a planted symlink), after removing
 * stale ones and restoring an earlier folder a killed replace left aside; the caller fills
 * it, then dir_install moves it to target, swapping out an earlier folder atomically. On
 * failure the caller removes temp (remove_flat_dir). Target's parent folders are made. */
int temp_dir_create(char *temp, size_t size, const char *target);
int dir_install(const char *temp, const char *target);
/* Removes a folder and the files in it (one level, as bundles are). */
int remove_flat_dir(const char *dir);

/* Opens path read-only if it is a regular file: ERR_INPUT naming it otherwise (missing,
 * a folder, a FIFO, a device). what ("corpus file", ...) prefixes the message; may be NULL.
 * *size gets its size in bytes. Never blocks on a FIFO. */
int open_input(const char *path, const char *what, int *fd, long long *size);

/* Read a whole regular file into a malloc'd buffer (NUL-terminated). ERR_INPUT if missing,
 * not a regular file, or larger than max_bytes (0: READ_FILE_MAX). */
#define READ_FILE_MAX (256LL << 20)
int read_file_max(const char *path, long long max_bytes, char **data, size_t *bytes);
int read_file(const char *path, char **data, size_t *bytes);
/* dir/name into out (size bytes): ERR_INPUT naming both when it does not fit, never a
 * truncated path (which would name another file). */
int path_join(char *out, size_t size, const char *dir, const char *name);
int make_dirs(const char *path);                      /* mkdir -p */
int make_parent_dirs(const char *path);               /* mkdir -p of path's folder */
int file_exists(const char *path);
long long file_size(const char *path);                /* -1 if missing */
#endif
