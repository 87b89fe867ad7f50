/* Token files: a 32-byte header (magic "MEKITOK1", u32 vocab_size, u32 reserved,
 * u64 count, u64 checksum of the ids) then count little-endian uint16 ids. Opened
 * read-only through mmap; a short or inconsistent file is refused. A file of any size
 * (larger than RAM too) is streamed: a full check reads it a chunk at a time, dropping each
 * chunk's pages (and is skipped while a stamp vouches for the file: data/stamps.h), and
 * training reads windows with token_file_window, through the file rather than the mapping
 * (whose fault-around would keep 64 KB per window resident). */
#ifndef DATA_TOKENS_H
#define DATA_TOKENS_H
#include <stddef.h>
#include <stdint.h>
#include "util/fileio.h"

/* One file of a token sequence made of several (shards, data/shards.h). */
typedef struct {
    int fd;
    long first, count;     /* ids [first, first + count) of the whole sequence */
    long long offset;      /* byte offset of its first id in the file */
} TokenSegment;

typedef struct {
    const uint16_t *ids;   /* one mapped file; NULL for a shard set, read by window only */
    long count;
    int vocab_size;
    void *map;
    size_t map_bytes;
    int fd;
    TokenSegment *segments;   /* a shard set: in order (token_file_set_segments) */
    int n_segments;
} TokenFile;

/* What the last full check of a file saw: its size and modification time then, and the
 * checksum of its ids. Lets later opens skip reading a file that has not changed. */
typedef struct {
    long long size, mtime_ns;
    uint64_t checksum;
} TokenStamp;

int token_file_write(const char *path, const uint16_t *ids, long count, int vocab_size);
/* The same written piece by piece (a file larger than memory): ids are checked below
 * vocab_size as they come; nothing is left at path unless commit succeeds. */
typedef struct {
    AtomicFile af;
    long count;
    uint64_t checksum;
    int vocab_size;
} TokenWriter;
int token_writer_open(TokenWriter *w, const char *path, int vocab_size);
int token_writer_add(TokenWriter *w, const uint16_t *ids, long n);
int token_writer_commit(TokenWriter *w);
void token_writer_abort(TokenWriter *w);
/* Opens and checks the whole file: header, size, every id below vocab, the checksum.
 * ERR_INPUT naming the file. */
int token_file_open(TokenFile *tf, const char *path);
/* The same, but when *stamp (size > 0) matches the file's size and mtime and its header's
 * checksum, the ids are not read (the header and the size are still checked). Otherwise
 * (or with full set) the ids are read whole, and *stamp is set to what was seen and
 * *checked to 1 so that the caller can store it. */
int token_file_open_stamped(TokenFile *tf, const char *path, TokenStamp *stamp, int full, int *checked);
/* The size and modification time of an open descriptor, as a stamp holds them. */
int token_stamp_of(int fd, const char *path, TokenStamp *stamp);
/* A sequence read from several files by window (tf->ids NULL): takes segments over (their
 * descriptors are closed by token_file_close); count is their sum. */
void token_file_set_segments(TokenFile *tf, TokenSegment *segments, int n, int vocab_size);
void token_file_close(TokenFile *tf);
/* tokens[t] = ids[start + t], targets[t] = ids[start + t + 1] for t < n (start + n < count),
 * read with pread: the resident set does not grow. ERR_FAILURE on a read error. */
int token_file_window(const TokenFile *tf, long start, int n, int32_t *tokens, int32_t *targets);
#endif
