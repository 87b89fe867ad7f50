/* Prefetching the ROM table's rows (formats/romtable.h): as soon as a token id is known,
 * the pages holding its row in every layer's table are requested from storage, so the
 * read overlaps the compute of the layers before the lookup.
 *
 * A token's rows of every table are one span of the file (formats/romtable.h), so a
 * token costs one request, not one per layer. A page is requested once: a flag per page of the file remembers it, so a warm table
 * costs no system call at all. Modes:
 *   PREFETCH_MADVISE: madvise(MADV_WILLNEED) on each new page from the calling thread
 *     (asynchronous readahead; about 14 us per call measured on this machine's disk);
 *   PREFETCH_THREAD: a helper thread does the madvise and then touches the pages, so
 *     the decoding thread only queues page numbers, and later finds the page mapped.
 * In every mode but OFF the cache lines of the rows are prefetched too (helps when warm),
 * unless turned off for the request (prefetcher_set_cache_lines). */
#ifndef FORMATS_PREFETCH_H
#define FORMATS_PREFETCH_H
#include "formats/romtable.h"
#include <stddef.h>
#include <stdint.h>

typedef enum { PREFETCH_OFF, PREFETCH_MADVISE, PREFETCH_THREAD } PrefetchMode;

typedef struct Prefetcher Prefetcher;

const char *prefetch_mode_name(PrefetchMode mode);   /* "off", "madvise", "thread" */
int prefetch_mode_parse(const char *s);               /* -1 if unknown */

/* Also marks the table's mapping as randomly accessed (no read-around). */
int prefetcher_create(Prefetcher **out, const RomTable *t, PrefetchMode mode);
void prefetcher_free(Prefetcher *p);                  /* joins the helper thread */
int prefetcher_set_mode(Prefetcher *p, PrefetchMode mode);
PrefetchMode prefetcher_mode(const Prefetcher *p);
/* Whether requests also prefetch the rows' cache lines (default on). Off for rows that
 * are only likely to be read (top-k candidates): their lines would evict the weights. */
void prefetcher_set_cache_lines(Prefetcher *p, int on);
/* Request the rows of tokens[0..n) in every table. */
void prefetcher_request(Prefetcher *p, const int32_t *tokens, int n);
/* Request explicit rows of one layer's table (Engram: rows hashed from the last tokens). */
void prefetcher_request_rows(Prefetcher *p, int layer, const int32_t *rows, int n);
/* Wait until the helper thread has handled every request (no-op in other modes). */
void prefetcher_drain(Prefetcher *p);

/* Residency of the table, for the benchmark. */
size_t prefetcher_resident_bytes(const Prefetcher *p);   /* pages in the page cache (mincore) */
/* Drop the table from the mapping and from the page cache; forget the requests. Returns
 * the resident bytes left (0 unless another process maps the file). */
size_t prefetcher_evict(Prefetcher *p);
/* Read every page (the warm state); mark all of them requested. */
void prefetcher_populate(Prefetcher *p);
#endif
