/* DIR/verified.txt of a prepared folder: for each token file (train.tok, val.tok, or a
 * shard by its path), the size and modification time it had when last read whole and
 * found intact, and its checksum then. A later open that finds the same size, mtime and
 * checksum does not read the file again (data/tokens.h, token_file_open_stamped). The file
 * is only a cache: missing or unreadable, every file is read whole once more. */
#ifndef DATA_STAMPS_H
#define DATA_STAMPS_H
#include "data/tokens.h"

typedef struct {
    char **names;
    TokenStamp *stamps;
    int count, capacity, changed;
} StampBook;

void stamps_load(StampBook *book, const char *dir);       /* an empty book when absent or bad */
TokenStamp stamps_find(const StampBook *book, const char *name);   /* size 0 when absent */
int stamps_set(StampBook *book, const char *name, const TokenStamp *stamp);
/* Writes the book back when it changed; a read-only folder is not an error (the next
 * open reads the files again). */
void stamps_save(StampBook *book, const char *dir);
void stamps_free(StampBook *book);
#endif
