#include "data/corpus_hash.h"
#include "data/checksum.h"
#include "data/corpus.h"
#include "util/error.h"
#include "util/fileio.h"
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#define CACHE_DIR "data/cache"
#define CACHE_PATH CACHE_DIR "/hashes.txt"

/* The cache: one line per file, "size mtime_sec mtime_nsec hash path". A file whose size
 * or mtime changed is hashed again. Losing the cache only costs time. */
static int cache_lookup(const char *path, const struct stat *st, uint64_t *out) {
    FILE *f = fopen(CACHE_PATH, "r");
    if (!f) return 0;
    char line[4400];
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        long long size, sec, nsec;
        uint64_t h;
        int consumed = 0;
        line[strcspn(line, "\n")] = 0;
        if (sscanf(line, "%lld %lld %lld %" SCNx64 " %n", &size, &sec, &nsec, &h, &consumed) != 4 || !consumed)
            continue;
        if (!strcmp(line + consumed, path) && size == (long long)st->st_size &&
            sec == (long long)st->st_mtim.tv_sec && nsec == (long long)st->st_mtim.tv_nsec)
            *out = h, found = 1;
    }
    fclose(f);
    return found;
}

/* Rewrites the cache with this entry replacing any older one for the path (atomically, so
 * two processes at once leave one whole file). Failure is ignored: it is only a cache. */
static void cache_store(const char *path, const struct stat *st, uint64_t h) {
    char *old = NULL;
    size_t bytes = 0;
    if (make_dirs(CACHE_DIR)) { error_clear(); return; }
    if (read_file(CACHE_PATH, &old, &bytes)) { error_clear(); old = NULL; }
    AtomicFile af;
    if (atomic_open(&af, CACHE_PATH)) { error_clear(); free(old); return; }
    for (char *line = old, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        const char *p = line;
        for (int field = 0; field < 4 && p; field++) p = strchr(p, ' '), p = p ? p + 1 : NULL;
        if (!p || !strcmp(p, path)) continue;
        atomic_write(&af, line, strlen(line));
        atomic_write(&af, "\n", 1);
    }
    fprintf(af.file, "%lld %lld %lld %016" PRIx64 " %s\n", (long long)st->st_size, (long long)st->st_mtim.tv_sec,
            (long long)st->st_mtim.tv_nsec, h, path);
    if (atomic_commit(&af)) error_clear();
    free(old);
}

int file_content_hash(const char *path, uint64_t *out) {
    struct stat st;
    if (stat(path, &st) != 0) return error_set(ERR_INPUT, "%s: %s", path, strerror(errno));
    if (strchr(path, '\n')) return error_set(ERR_INPUT, "%s: a file name with a newline", path);
    if (cache_lookup(path, &st, out)) return OK;
    int fd;
    long long size;
    int rc = open_input(path, NULL, &fd, &size);   /* never blocks on a FIFO */
    if (rc) return rc;
    FILE *f = fdopen(fd, "rb");
    if (!f) { close(fd); return error_set(ERR_FAILURE, "%s: %s", path, strerror(errno)); }
    uint64_t h = CHECKSUM_SEED;
    char buffer[65536];
    size_t n;
    while ((n = fread(buffer, 1, sizeof buffer, f)) > 0) h = checksum_update(h, buffer, n);
    int bad = ferror(f);
    fclose(f);
    if (bad) return error_set(ERR_INPUT, "%s: read error", path);
    *out = h;
    cache_store(path, &st, h);
    return OK;
}

int corpus_content_hash(const char *const *paths, int n, uint64_t *out) {
    if (n <= 0) {   /* the Bible: its text as the corpus reader gives it */
        static uint64_t bible;
        static int known;
        if (!known) {
            Corpus c;
            int rc = corpus_read_bible(&c);
            if (rc) return rc;
            bible = checksum_update(CHECKSUM_SEED, c.text, c.bytes);
            corpus_free(&c);
            known = 1;
        }
        *out = bible;
        return OK;
    }
    /* the ordered list of the files' hashes: order matters (it decides the split) */
    unsigned char bytes[8];
    uint64_t h = CHECKSUM_SEED;
    for (int i = 0; i < n; i++) {
        uint64_t file;
        int rc = file_content_hash(paths[i], &file);
        if (rc) return rc;
        store_u64(bytes, file);
        h = checksum_update(h, bytes, sizeof bytes);
    }
    *out = h;
    return OK;
}
