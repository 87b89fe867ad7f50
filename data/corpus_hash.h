/* Content hashes of corpus and data files, for run identity: a corpus edited in place
 * is another corpus. Each file's hash is cached by path, size and modification time in
 * data/cache/hashes.txt, so a sweep hashes its corpus once, not at every load. */
#ifndef DATA_CORPUS_HASH_H
#define DATA_CORPUS_HASH_H
#include <stdint.h>

/* The hash of the corpus made of paths[0..n) in that order (their bytes, not their names);
 * n == 0: the built-in Bible corpus (the hash of its text). ERR_INPUT naming an unreadable
 * file. */
int corpus_content_hash(const char *const *paths, int n, uint64_t *out);
/* The hash of one file's bytes (e.g. a prepared folder's tokenizer.bin), cached alike. */
int file_content_hash(const char *path, uint64_t *out);
#endif
