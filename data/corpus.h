/* Raw text corpora as a list of documents: the built-in KJV Bible (one document per
 * book) or user text files (one document per file; a lone file is cut into pieces; a
 * JSON Lines file gives one document a line).
 * Every document ends with a newline so that joined documents stay apart. */
#ifndef DATA_CORPUS_H
#define DATA_CORPUS_H
#include <stddef.h>
#include <stdint.h>

/* A source of a multi-source corpus (the Debian one): its documents are held out apart
 * from the others', and the summary records its share. */
typedef struct {
    char *name;               /* "gcide" */
    char *packages;           /* "dict-gcide 0.48.5+nmu2", the Debian packages and versions */
    int files, dropped_exact, dropped_near, dropped_short;
} CorpusSource;

typedef struct {
    char *text;               /* all documents back to back */
    size_t bytes;
    size_t *starts, *lengths; /* document i is text[starts[i] .. + lengths[i]] */
    char **names;             /* "Ge", "notes.txt", "big.txt@65536" */
    int count, capacity;
    uint64_t fingerprint;     /* hash of the kind of corpus and every byte, files apart; not
                               * the paths: one corpus named two ways is one corpus */
    /* a multi-source corpus (else NULL and 0): the source of each document, and which are
     * held out (corpus_held_out applied within each source) */
    int *doc_source;
    unsigned char *held_out;
    CorpusSource *sources;
    int n_sources;
} Corpus;

/* Runs `bible -f ...` (Debian's bible-kjv); ERR_FAILURE naming the package if missing. */
int corpus_read_bible(Corpus *corpus);
/* At most this much text in all (the tokenizer and shards hold offsets of it). */
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define CORPUS_MAX_BYTES (2LL << 30)
#define CORPUS_MAX_FILES (1 << 20)
#else   /* the same checks, at sizes a fuzzer's input cannot spend 30 s on (corpus = /var) */
#define CORPUS_MAX_BYTES (16LL << 20)
#define CORPUS_MAX_FILES (1 << 12)
#endif
/* ERR_INPUT naming the file when one is missing, not a regular file (a FIFO, /dev/zero),
 * unreadable, empty, or larger than CORPUS_MAX_BYTES with the others. */
int corpus_read_files(Corpus *corpus, const char *const *paths, int n_paths);
/* The same, with files ending in .jsonl read as JSON Lines (data/jsonl.h): each line's
 * jsonl_field (NULL: "text") is a document named PATH:LINE, empty ones left out; ERR_INPUT
 * PATH:LINE for a malformed line. */
int corpus_read_files_field(Corpus *corpus, const char *const *paths, int n_paths,
                            const char *jsonl_field);
void corpus_free(Corpus *corpus);

/* Expands corpus inputs into the list of files to read, in order: a file stays itself; a
 * directory gives its regular files, recursively, entries sorted by name (byte order),
 * hidden ones (".name") skipped; "@LIST" gives the inputs named in LIST, one a line,
 * relative to LIST's folder, blank lines and "#" comments skipped. ERR_INPUT naming the
 * input (or LIST:LINE) when one is missing, or a directory or list holds no files, or
 * when they hold more than CORPUS_MAX_FILES files. A folder reached twice (a link loop,
 * two inputs naming it) is walked once; kernel pseudo file systems (/proc, /sys) are skipped.
 * *files is malloc'd (free with corpus_files_free). */
int corpus_expand(const char *const *inputs, int n_inputs, char ***files, int *n_files);
void corpus_files_free(char **files, int n_files);

/* Whether document index (of count >= 2) is held out: round(count / 20) documents, at
 * least one, evenly spaced and starting mid-corpus, so the split depends on count alone. */
int corpus_held_out(int index, int count);
/* Whether document i of the corpus is held out: per source when it has sources. */
int corpus_document_held_out(const Corpus *corpus, int i);
/* Appends one document (its text gets a final newline if it lacks one); for builders of
 * corpora outside corpus.c. *capacity is the text's allocation, 0 at first. */
int corpus_add_document(Corpus *corpus, size_t *capacity, const char *text, size_t bytes,
                        const char *name);
#endif
