/* Token files (layout in tokens.h). The checksum is FNV-1a over the ids' bytes as stored. */
#include "data/tokens.h"
#include "data/checksum.h"
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
    if (checksum_bytes(ids, 2 * count) != load_u64(map + 24))
        return error_set(ERR_INPUT, "%s: token checksum mismatch (corrupt file)", path);
    for (uint64_t i = 0; i < count; i++)
        if (ids[i] >= vocab)
            return error_set(ERR_INPUT, "%s: token id %d at %llu is not below vocab %u", path,
                             ids[i], (unsigned long long)i, vocab);
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
    close(fd);   /* the mapping keeps the file open */
    if (map == MAP_FAILED) return error_set(ERR_FAILURE, "cannot map %s: %s", path, strerror(saved));
    rc = check_mapped(tf, map, size, path);
    if (rc) {
        munmap(map, size);
        memset(tf, 0, sizeof *tf);
        return rc;
    }
    tf->map = map;
    tf->map_bytes = size;
    return OK;
}

void token_file_close(TokenFile *tf) {
    if (tf->map) munmap(tf->map, tf->map_bytes);
    memset(tf, 0, sizeof *tf);
}
