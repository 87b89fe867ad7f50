/* Token files (layout in tokens.h). The checksum is FNV-1a over the ids' bytes as stored. */
#include "data/tokens.h"
#include "data/checksum.h"
#include "util/byteorder.h"
#include "util/error.h"
#include "util/fileio.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "token files are mapped as little-endian uint16; add a byte swap for this host"
#endif

#define TOKENS_MAGIC "MEKITOK1"
enum { TOKENS_HEADER = 32, TOKENS_VOCAB_MAX = 65536 };
#define CHECK_CHUNK ((uint64_t)1 << 24)   /* ids checked between page drops: 32 MB */

int token_writer_open(TokenWriter *w, const char *path, int vocab_size) {
    memset(w, 0, sizeof *w);
    if (vocab_size < 1 || vocab_size > TOKENS_VOCAB_MAX)
        return error_set(ERR_INPUT, "%s: bad token file vocabulary %d", path, vocab_size);
    w->vocab_size = vocab_size;
    w->checksum = CHECKSUM_SEED;
    unsigned char header[TOKENS_HEADER] = {0};   /* filled in by commit */
    int rc = atomic_open(&w->af, path);
    if (!rc) rc = atomic_write(&w->af, header, sizeof header);
    if (rc && w->af.file) atomic_abort(&w->af);
    return rc;
}

int token_writer_add(TokenWriter *w, const uint16_t *ids, long n) {
    for (long i = 0; i < n; i++)
        if (ids[i] >= w->vocab_size)
            return error_set(ERR_INPUT, "%s: token id %d at %ld is not below vocab %d", w->af.path,
                             ids[i], w->count + i, w->vocab_size);
    w->checksum = checksum_update(w->checksum, ids, (size_t)n * sizeof *ids);
    w->count += n;
    return atomic_write(&w->af, ids, (size_t)n * sizeof *ids);
}

int token_writer_commit(TokenWriter *w) {
    unsigned char header[TOKENS_HEADER] = {0};
    memcpy(header, TOKENS_MAGIC, 8);
    store_u32(header + 8, (uint32_t)w->vocab_size);
    store_u64(header + 16, (uint64_t)w->count);
    store_u64(header + 24, w->checksum);
    if (fflush(w->af.file) != 0 || fseek(w->af.file, 0, SEEK_SET) != 0) {
        int saved = errno;
        atomic_abort(&w->af);
        return error_set(ERR_FAILURE, "cannot write %s: %s", w->af.path, strerror(saved));
    }
    int rc = atomic_write(&w->af, header, sizeof header);
    if (rc) {
        atomic_abort(&w->af);
        return rc;
    }
    return atomic_commit(&w->af);
}

void token_writer_abort(TokenWriter *w) { atomic_abort(&w->af); }

int token_file_write(const char *path, const uint16_t *ids, long count, int vocab_size) {
    if (vocab_size < 1 || vocab_size > TOKENS_VOCAB_MAX || count < 0)
        return error_set(ERR_INPUT, "%s: bad token file parameters (vocab %d, count %ld)", path,
                         vocab_size, count);
    for (long i = 0; i < count; i++)   /* before anything is written: the old file stays */
        if (ids[i] >= vocab_size)
            return error_set(ERR_INPUT, "%s: token id %d at %ld is not below vocab %d", path,
                             ids[i], i, vocab_size);
    TokenWriter w;
    int rc = token_writer_open(&w, path, vocab_size);
    if (rc) return rc;
    if ((rc = token_writer_add(&w, ids, count))) {
        token_writer_abort(&w);
        return rc;
    }
    return token_writer_commit(&w);
}

/* Drops the pages of map[offset, offset + bytes) from this process's resident set: they
 * are clean file pages, read again from the page cache (or the disk) if touched again. */
static void drop_pages(const void *map, size_t map_bytes, size_t offset, size_t bytes) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE), first = offset / page * page;
    size_t end = offset + bytes + page - 1 < map_bytes ? (offset + bytes + page - 1) / page * page : map_bytes;
    if (end > first) madvise((char *)map + first, end - first, MADV_DONTNEED);
}

/* Reads ids [at, at + want) of the sequence into buffer (want <= 4096), from whichever
 * file holds them; *got the ids read (fewer at a segment's end). */
static int read_ids(const TokenFile *tf, long at, long want, uint16_t *buffer, long *got) {
    int fd = tf->fd;
    long long offset = TOKENS_HEADER + 2LL * at;
    if (tf->n_segments) {   /* the last segment whose first id is at or before at */
        int lo = 0, hi = tf->n_segments - 1;
        while (lo < hi) {
            int mid = (lo + hi + 1) / 2;
            if (tf->segments[mid].first <= at) lo = mid;
            else hi = mid - 1;
        }
        const TokenSegment *s = &tf->segments[lo];
        if (want > s->first + s->count - at) want = s->first + s->count - at;
        fd = s->fd, offset = s->offset + 2LL * (at - s->first);
    }
    for (;;) {
        ssize_t n = pread(fd, buffer, (size_t)want * 2, (off_t)offset);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || n % 2)
            return error_set(ERR_FAILURE, "token file: cannot read tokens %ld..%ld: %s", at, at + want,
                             n < 0 ? strerror(errno) : "short read");
        *got = n / 2;
        return OK;
    }
}

int token_file_window(const TokenFile *tf, long start, int n, int32_t *tokens, int32_t *targets) {
    uint16_t buffer[4096];   /* read through the descriptor: the page cache holds the file,
                              * and none of it enters this process's resident set */
    for (long done = 0; done <= n;) {
        long want = n + 1 - done < 4096 ? n + 1 - done : 4096, got = 0;
        int rc = read_ids(tf, start + done, want, buffer, &got);
        if (rc) return rc;
        for (long i = 0; i < got; i++) {
            long at = done + i;   /* position in the window of n + 1 ids */
            if (at < n) tokens[at] = buffer[i];
            if (at > 0) targets[at - 1] = buffer[i];
        }
        done += got;
    }
    return OK;
}

void token_file_set_segments(TokenFile *tf, TokenSegment *segments, int n, int vocab_size) {
    memset(tf, 0, sizeof *tf);
    tf->segments = segments;
    tf->n_segments = n;
    tf->vocab_size = vocab_size;
    tf->fd = -1;
    for (int i = 0; i < n; i++) tf->count += segments[i].count;
}

int token_stamp_of(int fd, const char *path, TokenStamp *stamp) {
    struct stat st;
    if (fstat(fd, &st) != 0) return error_set(ERR_FAILURE, "cannot stat %s: %s", path, strerror(errno));
    stamp->size = (long long)st.st_size;
    stamp->mtime_ns = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
    return OK;
}

/* Checks a mapped file's header and size; fills tf's count and vocab. */
static int check_header(TokenFile *tf, const unsigned char *map, size_t size, const char *path) {
    if (size < TOKENS_HEADER)
        return error_set(ERR_INPUT, "%s: truncated token file (%zu bytes)", path, size);
    if (memcmp(map, TOKENS_MAGIC, 8))
        return error_set(ERR_INPUT, "%s: not a meki token file (bad magic)", path);
    uint32_t vocab = load_u32(map + 8);
    uint64_t count = load_u64(map + 16);
    if (vocab < 1 || vocab > TOKENS_VOCAB_MAX || load_u32(map + 12) != 0)
        return error_set(ERR_INPUT, "%s: corrupt token file header (vocab %u)", path, vocab);
    if (count > (size - TOKENS_HEADER) / 2 || size != TOKENS_HEADER + 2 * count)
        return error_set(ERR_INPUT, "%s: size %zu does not match %llu tokens (truncated?)", path,
                         size, (unsigned long long)count);
    tf->count = (long)count;
    tf->vocab_size = (int)vocab;
    return OK;
}

/* Reads every id of a mapped file: each below the vocabulary, their checksum the header's. */
static int check_ids(const TokenFile *tf, const unsigned char *map, size_t size, const char *path) {
    const uint16_t *ids = (const uint16_t *)(map + TOKENS_HEADER);
    uint64_t count = (uint64_t)tf->count;
    /* checked a chunk at a time, each chunk's pages dropped after it, so that opening a
     * file larger than RAM leaves no more of it resident than one chunk */
    uint64_t sum = CHECKSUM_SEED;
    for (uint64_t at = 0; at < count; at += CHECK_CHUNK) {
        uint64_t n = count - at < CHECK_CHUNK ? count - at : CHECK_CHUNK;
        sum = checksum_update(sum, ids + at, 2 * n);
        for (uint64_t i = at; i < at + n; i++)
            if (ids[i] >= tf->vocab_size)
                return error_set(ERR_INPUT, "%s: token id %d at %llu is not below vocab %d", path,
                                 ids[i], (unsigned long long)i, tf->vocab_size);
        drop_pages(map, size, TOKENS_HEADER + 2 * at, 2 * n);
    }
    if (sum != load_u64(map + 24))
        return error_set(ERR_INPUT, "%s: token checksum mismatch (corrupt file)", path);
    return OK;
}

int token_file_open_stamped(TokenFile *tf, const char *path, TokenStamp *stamp, int full, int *checked) {
    memset(tf, 0, sizeof *tf);
    if (checked) *checked = 0;
    int fd;
    long long file_bytes;
    int rc = open_input(path, "token file", &fd, &file_bytes);
    if (rc) return rc;
    size_t size = (size_t)file_bytes;
    if (size < TOKENS_HEADER) {
        close(fd);
        return error_set(ERR_INPUT, "%s: truncated token file (%zu bytes)", path, size);
    }
    TokenStamp now = {0};
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int saved = errno;
    if (map == MAP_FAILED) {
        close(fd);
        return error_set(ERR_FAILURE, "cannot map %s: %s", path, strerror(saved));
    }
    rc = check_header(tf, map, size, path);
    if (!rc) rc = token_stamp_of(fd, path, &now);
    now.checksum = load_u64((const unsigned char *)map + 24);
    int trusted = !rc && !full && stamp && stamp->size > 0 && stamp->size == now.size &&
                  stamp->mtime_ns == now.mtime_ns && stamp->checksum == now.checksum;
    if (!rc && !trusted) {
        rc = check_ids(tf, map, size, path);
        if (!rc && stamp) *stamp = now;
        if (!rc && checked) *checked = 1;
    }
    if (rc) {
        munmap(map, size);
        close(fd);
        memset(tf, 0, sizeof *tf);
        return rc;
    }
    tf->ids = (const uint16_t *)((const unsigned char *)map + TOKENS_HEADER);
    tf->map = map;
    tf->map_bytes = size;
    tf->fd = fd;   /* token_file_window reads through it */
    return OK;
}

int token_file_open(TokenFile *tf, const char *path) {
    return token_file_open_stamped(tf, path, NULL, 1, NULL);
}

void token_file_close(TokenFile *tf) {
    if (tf->map) munmap(tf->map, tf->map_bytes);
    if (tf->map) close(tf->fd);
    for (int i = 0; i < tf->n_segments; i++) close(tf->segments[i].fd);
    free(tf->segments);
    memset(tf, 0, sizeof *tf);
}
