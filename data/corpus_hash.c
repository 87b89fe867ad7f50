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
 * or mtime changed is hashed again. Losing the cache only costs time. It is read once and
 * written once per corpus (a corpus of many files must not rewrite it per file). */
typedef struct {
    long long size, sec, nsec;
    uint64_t hash;
    char *path;
} Entry;

typedef struct {
    Entry *items;
    size_t count, capacity, loaded;   /* items[0..loaded) come from the file, sorted by path */
} Cache;

static int by_path(const void *a, const void *b) {
    return strcmp(((const Entry *)a)->path, ((const Entry *)b)->path);
}

static void cache_free(Cache *c) {
    for (size_t i = 0; i < c->count; i++) free(c->items[i].path);
    free(c->items);
    memset(c, 0, sizeof *c);
}

/* 0, or -1 out of memory (the cache is then left as it was). */
static int cache_add(Cache *c, Entry e, const char *path) {
    if (c->count == c->capacity) {
        size_t cap = c->capacity ? 2 * c->capacity : 256;
        Entry *bigger = realloc(c->items, cap * sizeof *bigger);
        if (!bigger) return -1;
        c->items = bigger, c->capacity = cap;
    }
    if (!(e.path = strdup(path))) return -1;
    c->items[c->count++] = e;
    return 0;
}

static void cache_load(Cache *c) {
    FILE *f = fopen(CACHE_PATH, "r");
    if (!f) return;
    char *line = NULL;
    size_t capacity = 0;
    ssize_t got;
    while ((got = getline(&line, &capacity, f)) > 0) {
        Entry e;
        int consumed = 0;
        line[strcspn(line, "\n")] = 0;
        if (sscanf(line, "%lld %lld %lld %" SCNx64 " %n", &e.size, &e.sec, &e.nsec, &e.hash, &consumed) != 4 ||
            !consumed || !line[consumed])
            continue;
        if (cache_add(c, e, line + consumed)) break;
    }
    free(line);
    fclose(f);
    if (c->count > 1) qsort(c->items, c->count, sizeof *c->items, by_path);
    c->loaded = c->count;
}

static int cache_lookup(const Cache *c, const char *path, const struct stat *st, uint64_t *out) {
    Entry key = {.path = (char *)path};
    const Entry *e = c->loaded ? bsearch(&key, c->items, c->loaded, sizeof key, by_path) : NULL;
    if (!e || e->size != (long long)st->st_size || e->sec != (long long)st->st_mtim.tv_sec ||
        e->nsec != (long long)st->st_mtim.tv_nsec)
        return 0;
    *out = e->hash;
    return 1;
}

/* Writes the cache back when this corpus added entries, newer entries replacing older ones
 * for a path (atomically, so two processes at once leave one whole file). Failure is
 * ignored: it is only a cache. */
static void cache_save(Cache *c) {
    if (c->count == c->loaded) return;
    Entry *fresh = c->items + c->loaded;
    size_t n_fresh = c->count - c->loaded;
    if (n_fresh > 1) qsort(fresh, n_fresh, sizeof *fresh, by_path);
    if (make_dirs(CACHE_DIR)) { error_clear(); return; }
    AtomicFile af;
    if (atomic_open(&af, CACHE_PATH)) { error_clear(); return; }
    for (size_t i = 0; i < c->count; i++) {
        const Entry *e = &c->items[i];
        /* an old entry whose path this run hashed again */
        if (i < c->loaded && bsearch(e, fresh, n_fresh, sizeof *e, by_path)) continue;
        fprintf(af.file, "%lld %lld %lld %016" PRIx64 " %s\n", e->size, e->sec, e->nsec, e->hash, e->path);
    }
    if (atomic_commit(&af)) error_clear();
}

static int hash_file(Cache *cache, const char *path, uint64_t *out) {
    struct stat st;
    if (stat(path, &st) != 0) return error_set(ERR_INPUT, "%s: %s", path, strerror(errno));
    if (strchr(path, '\n')) return error_set(ERR_INPUT, "%s: a file name with a newline", path);
    if (cache_lookup(cache, path, &st, out)) return OK;
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
    Entry e = {(long long)st.st_size, (long long)st.st_mtim.tv_sec, (long long)st.st_mtim.tv_nsec, h, NULL};
    (void)cache_add(cache, e, path);   /* out of memory only loses the cache entry */
    return OK;
}

int file_content_hash(const char *path, uint64_t *out) {
    Cache cache = {0};
    cache_load(&cache);
    int rc = hash_file(&cache, path, out);
    if (!rc) cache_save(&cache);
    cache_free(&cache);
    return rc;
}

/* A corpus the reader would refuse (over CORPUS_MAX_BYTES in all) is refused before a byte
 * of it is hashed: hashing a whole disk named by mistake would take hours. */
static int check_total(const char *const *paths, int n) {
    long long total = 0;
    for (int i = 0; i < n; i++) {
        struct stat st;
        if (stat(paths[i], &st) != 0) return error_set(ERR_INPUT, "%s: %s", paths[i], strerror(errno));
        if (S_ISREG(st.st_mode)) total += (long long)st.st_size;
        if (total > CORPUS_MAX_BYTES)
            return error_set(ERR_INPUT, "the corpus's %d files hold more than %lld bytes (the most it may "
                             "hold), passed at %s", n, (long long)CORPUS_MAX_BYTES, paths[i]);
    }
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
    int rc = check_total(paths, n);
    if (rc) return rc;
    /* the ordered list of the files' hashes: order matters (it decides the split) */
    Cache cache = {0};
    cache_load(&cache);
    unsigned char bytes[8];
    uint64_t h = CHECKSUM_SEED;
    for (int i = 0; i < n && !rc; i++) {
        uint64_t file;
        rc = hash_file(&cache, paths[i], &file);
        store_u64(bytes, file);
        h = checksum_update(h, bytes, sizeof bytes);
    }
    if (!rc) cache_save(&cache), *out = h;
    cache_free(&cache);
    return rc;
}
