/* Token files (layout in tokens.h). The checksum is FNV-1a over the ids' bytes as stored. */
#include "data/tokens.h"
#include "data/checksum.h"
#include "util/byteorder.h"
#include "util/error.h"
#include "util/fileio.h"
#include <errno.h>
#include <fcntl.h>
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

int token_file_write(const char *path, const uint16_t *ids, long count, int vocab_size) {
    if (vocab_size < 1 || vocab_size > TOKENS_VOCAB_MAX || count < 0)
        return error_set(ERR_INPUT, "%s: bad token file parameters (vocab %d, count %ld)", path,
                         vocab_size, count);
    for (long i = 0; i < count; i++)
        if (ids[i] >= vocab_size)
            return error_set(ERR_INPUT, "%s: token id %d at %ld is not below vocab %d", path,
                             ids[i], i, vocab_size);
    size_t id_bytes = (size_t)count * sizeof *ids;
    unsigned char header[TOKENS_HEADER] = {0};
    memcpy(header, TOKENS_MAGIC, 8);
    store_u32(header + 8, (uint32_t)vocab_size);
    store_u64(header + 16, (uint64_t)count);
    store_u64(header + 24, checksum_bytes(ids, id_bytes));
    AtomicFile af;
    int rc = atomic_open(&af, path);
    if (rc) return rc;
    rc = atomic_write(&af, header, sizeof header);
    if (!rc) rc = atomic_write(&af, ids, id_bytes);
    if (rc) {
        atomic_abort(&af);
        return rc;
    }
    return atomic_commit(&af);
}

/* Drops the pages of map[offset, offset + bytes) from this process's resident set: they
 * are clean file pages, read again from the page cache (or the disk) if touched again. */
static void drop_pages(const void *map, size_t map_bytes, size_t offset, size_t bytes) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE), first = offset / page * page;
    size_t end = offset + bytes + page - 1 < map_bytes ? (offset + bytes + page - 1) / page * page : map_bytes;
    if (end > first) madvise((char *)map + first, end - first, MADV_DONTNEED);
}

int token_file_window(const TokenFile *tf, long start, int n, int32_t *tokens, int32_t *targets) {
    uint16_t buffer[4096];   /* read through the descriptor: the page cache holds the file,
                              * and none of it enters this process's resident set */
    for (long done = 0; done <= n;) {
        long want = n + 1 - done < 4096 ? n + 1 - done : 4096;
        ssize_t got = pread(tf->fd, buffer, (size_t)want * 2, TOKENS_HEADER + 2 * (off_t)(start + done));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0 || got % 2)
            return error_set(ERR_FAILURE, "token file: cannot read tokens %ld..%ld: %s", start + done,
                             start + done + want, got < 0 ? strerror(errno) : "short read");
        for (long i = 0; i < got / 2; i++) {
            long at = done + i;   /* position in the window of n + 1 ids */
            if (at < n) tokens[at] = buffer[i];
            if (at > 0) targets[at - 1] = buffer[i];
        }
        done += got / 2;
    }
    return OK;
}

/* Checks a mapped file against its header; fills tf's ids, count and vocab. */
static int check_mapped(TokenFile *tf, const unsigned char *map, size_t size, const char *path) {
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
    const uint16_t *ids = (const uint16_t *)(map + TOKENS_HEADER);
    /* checked a chunk at a time, each chunk's pages dropped after it, so that opening a
     * file larger than RAM leaves no more of it resident than one chunk */
    uint64_t sum = CHECKSUM_SEED;
    for (uint64_t at = 0; at < count; at += CHECK_CHUNK) {
        uint64_t n = count - at < CHECK_CHUNK ? count - at : CHECK_CHUNK;
        sum = checksum_update(sum, ids + at, 2 * n);
        for (uint64_t i = at; i < at + n; i++)
            if (ids[i] >= vocab)
                return error_set(ERR_INPUT, "%s: token id %d at %llu is not below vocab %u", path,
                                 ids[i], (unsigned long long)i, vocab);
        drop_pages(map, size, TOKENS_HEADER + 2 * at, 2 * n);
    }
    if (sum != load_u64(map + 24))
        return error_set(ERR_INPUT, "%s: token checksum mismatch (corrupt file)", path);
    tf->ids = ids;
    tf->count = (long)count;
    tf->vocab_size = (int)vocab;
    return OK;
}

int token_file_open(TokenFile *tf, const char *path) {
    memset(tf, 0, sizeof *tf);
    int fd;
    long long file_bytes;
    int rc = open_input(path, "token file", &fd, &file_bytes);
    if (rc) return rc;
    size_t size = (size_t)file_bytes;
    if (size < TOKENS_HEADER) {
        close(fd);
        return error_set(ERR_INPUT, "%s: truncated token file (%zu bytes)", path, size);
    }
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int saved = errno;
    if (map == MAP_FAILED) {
        close(fd);
        return error_set(ERR_FAILURE, "cannot map %s: %s", path, strerror(saved));
    }
    rc = check_mapped(tf, map, size, path);
    if (rc) {
        munmap(map, size);
        close(fd);
        memset(tf, 0, sizeof *tf);
        return rc;
    }
    tf->map = map;
    tf->map_bytes = size;
    tf->fd = fd;   /* token_file_window reads through it */
    return OK;
}

void token_file_close(TokenFile *tf) {
    if (tf->map) munmap(tf->map, tf->map_bytes);
    if (tf->map) close(tf->fd);
    memset(tf, 0, sizeof *tf);
}
