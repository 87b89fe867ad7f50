/* Token files: a 32-byte header (magic "MEKITOK1", u32 vocab_size, u32 reserved,
 * u64 count, u64 checksum of the ids) then count little-endian uint16 ids. Opened
 * read-only through mmap; a short or inconsistent file is refused. A file of any size
 * (larger than RAM too) is streamed: opening checks it a chunk at a time, dropping each
 * chunk's pages, and training reads windows with token_file_window, through the file
 * rather than the mapping (whose fault-around would keep 64 KB per window resident). */
#ifndef DATA_TOKENS_H
#define DATA_TOKENS_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const uint16_t *ids;
    long count;
    int vocab_size;
    void *map;
    size_t map_bytes;
    int fd;
} TokenFile;

int token_file_write(const char *path, const uint16_t *ids, long count, int vocab_size);
int token_file_open(TokenFile *tf, const char *path);   /* ERR_INPUT naming the file */
void token_file_close(TokenFile *tf);
/* tokens[t] = ids[start + t], targets[t] = ids[start + t + 1] for t < n (start + n < count),
 * read with pread: the resident set does not grow. ERR_FAILURE on a read error. */
int token_file_window(const TokenFile *tf, long start, int n, int32_t *tokens, int32_t *targets);
#endif
