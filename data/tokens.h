/* Token files: a 32-byte header (magic "MEKITOK1", u32 vocab_size, u32 reserved,
 * u64 count, u64 checksum of the ids) then count little-endian uint16 ids. Opened
 * read-only through mmap; a short or inconsistent file is refused. */
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
} TokenFile;

int token_file_write(const char *path, const uint16_t *ids, long count, int vocab_size);
int token_file_open(TokenFile *tf, const char *path);   /* ERR_INPUT naming the file */
void token_file_close(TokenFile *tf);
#endif
