/* A prepared folder's summary.txt (data/dataset.h, data/shards.h): its figures, read and
 * written, and the install that moves a finished folder's files into place with the
 * summary last. Both kinds of folder, prepared from text or from token shards, use it. */
#ifndef DATA_SUMMARY_H
#define DATA_SUMMARY_H
#include <stdint.h>

enum { DATASET_PATH_BYTES = 4096 };

typedef struct {
    char dir[4096];
    long train_tokens, val_tokens, train_bytes, val_bytes;
    int documents, val_documents, vocab_size;
    double unigram_val_ppl;   /* perplexity of a unigram model fit on train, on val */
    int no_tokenizer;         /* token shards brought in (data/shards.h): no tokenizer.bin,
                               * no val.txt, no byte counts; train.shards names the train ids */
} DataSummary;

/* The files a folder prepared from text holds besides summary.txt. */
enum { TEXT_FOLDER_FILE_COUNT = 4 };
extern const char *const TEXT_FOLDER_FILES[TEXT_FOLDER_FILE_COUNT];

/* out (DATASET_PATH_BYTES) = dir/name; ERR_INPUT when too long. */
int dataset_file_path(char *out, const char *dir, const char *name);
/* Open a prepared folder: ERR_INPUT naming what is missing (run ./meki data). */
int dataset_summary_load(const char *dir, DataSummary *summary);
/* The same, with the fingerprint of the inputs the summary records. */
int dataset_summary_read(const char *dir, DataSummary *summary, uint64_t *fingerprint);
/* Writes DIR/summary.txt: head (the lines saying what was prepared, each ending in a
 * newline), the figures of s, then tail (NULL: none). */
int dataset_summary_write(const char *dir, const char *head, const char *tail, const DataSummary *s);
/* Moves the named files (those present) from the finished folder temp into dir, then
 * temp's summary.txt, after removing dir's summary.txt and the files of a prepared folder
 * that temp does not hold; other files in dir are left alone. temp is not removed. */
int dataset_install(const char *temp, const char *dir, const char *const *names, int n);
#endif
