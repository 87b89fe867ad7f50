#include "util/fileio.h"
#include "util/error.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int atomic_open(AtomicFile *af, const char *path) {
    memset(af, 0, sizeof *af);
    snprintf(af->path, sizeof af->path, "%s", path);
    snprintf(af->temp_path, sizeof af->temp_path, "%s.tmp.%d", path, (int)getpid());
    af->file = fopen(af->temp_path, "wb");
    if (!af->file)
        return error_set(ERR_FAILURE, "cannot write %s: %s", af->temp_path, strerror(errno));
    return OK;
}

int atomic_write(AtomicFile *af, const void *data, size_t bytes) {
    if (af->failed) return ERR_FAILURE;
    if (bytes && fwrite(data, 1, bytes, af->file) != bytes) {
        af->failed = 1;
        return error_set(ERR_FAILURE, "write to %s failed: %s", af->path, strerror(errno));
    }
    return OK;
}

int atomic_commit(AtomicFile *af) {
    int failed = af->failed || fflush(af->file) != 0 || fsync(fileno(af->file)) != 0;
    int saved = errno;
    if (fclose(af->file) != 0) failed = 1;
    af->file = NULL;
    if (failed) {
        unlink(af->temp_path);
        return error_set(ERR_FAILURE, "write to %s failed: %s", af->path, strerror(saved));
    }
    if (rename(af->temp_path, af->path) != 0) {
        saved = errno;
        unlink(af->temp_path);
        return error_set(ERR_FAILURE, "cannot rename into %s: %s", af->path, strerror(saved));
    }
    return OK;
}

void atomic_abort(AtomicFile *af) {
    if (af->file) fclose(af->file);
    af->file = NULL;
    unlink(af->temp_path);
}

int read_file(const char *path, char **data, size_t *bytes) {
    FILE *f = fopen(path, "rb");
    if (!f) return error_set(ERR_INPUT, "cannot open %s: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0) { fclose(f); return error_set(ERR_INPUT, "cannot seek %s", path); }
    long size = ftell(f);
    rewind(f);
    char *buf = malloc((size_t)size + 1);
    if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        fclose(f);
        return error_set(ERR_INPUT, "cannot read %s", path);
    }
    fclose(f);
    buf[size] = 0;
    *data = buf;
    *bytes = (size_t)size;
    return OK;
}

int make_dirs(const char *path) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return error_set(ERR_FAILURE, "cannot create %s: %s", tmp, strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return error_set(ERR_FAILURE, "cannot create %s: %s", tmp, strerror(errno));
    return OK;
}

int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

long long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}
