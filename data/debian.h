/* The built-in multi-domain English corpus made from installed Debian packages
 * (./meki data --corpus debian): dictionaries, the KJV Bible, manuals and man pages, each
 * source named with its packages and versions (from dpkg). Steps, each documented in
 * docs/guide.md "Built-in corpora":
 *   1. list each source's files from its packages' file lists (dpkg-query -L);
 *   2. convert each file to text with Debian's own tools (zcat, w3m -dump, pod2text,
 *      man | col -b), cached one file each under the work folder, in a folder keyed by the
 *      packages' versions: a killed run converts only what is missing;
 *   3. cut texts over DEBIAN_PIECE_MAX bytes into pieces at blank lines, strip each
 *      source's boilerplate lines (data/boilerplate.h), drop documents under
 *      DEBIAN_MIN_DOC bytes, drop exact and near duplicates over all sources (data/dedup.h);
 *   4. hold out whole documents within each source (corpus_held_out per source). */
#ifndef DATA_DEBIAN_H
#define DATA_DEBIAN_H
#include "data/corpus.h"
#include <stdint.h>
#include <stdio.h>

enum { DEBIAN_PIECE = 65536, DEBIAN_PIECE_MAX = 131072, DEBIAN_MIN_DOC = 200 };
#define DEBIAN_WORK_DIR "data/cache/debian-work"

typedef struct {
    const char *root;       /* "" or NULL: /; else an installed tree (a chroot), its dpkg database in
                             * ROOT/var/lib/dpkg */
    const char *work_dir;   /* NULL: DEBIAN_WORK_DIR */
    const char *only;       /* NULL: every source; else comma-separated source names */
    int threads;            /* converters run at once; 0: 2 */
} DebianOptions;

/* The sources, in corpus order, and the packages each reads (space-separated). */
int debian_source_count(void);
const char *debian_source_name(int i);
const char *debian_source_packages(int i);
/* Every package the corpus needs, sources' and converters', space-separated, sorted. */
const char *debian_packages(void);

/* What names the corpus before it is built (a sweep's run identity): the installed versions
 * of every package it reads and DEBIAN_FORMAT (bumped when conversion or cleaning changes).
 * ERR_INPUT naming missing packages, as debian_corpus_read. root NULL or "": /. */
int debian_identity(const char *root, uint64_t *hash);
/* Builds the corpus (sources and held-out marks set). Missing packages: ERR_INPUT naming
 * them and the command that installs them. Progress lines go to log (may be NULL). */
int debian_corpus_read(Corpus *corpus, const DebianOptions *options, FILE *log);
#endif
