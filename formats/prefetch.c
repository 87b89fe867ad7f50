#include "formats/prefetch.h"
#include "util/error.h"
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum { QUEUE_PAGES = 4096 };

struct Prefetcher {
    const RomTable *table;
    PrefetchMode mode;
    int no_cache_lines;
    size_t page_bytes, pages;
    unsigned char *requested;   /* [pages] */
    /* the helper thread's queue of page numbers (PREFETCH_THREAD) */
    pthread_t thread;
    int running, stop, busy;
    pthread_mutex_t lock;
    pthread_cond_t wake, idle;
    size_t queue[QUEUE_PAGES];
    int queued;
};

static const char *const MODE_NAMES[] = {"off", "madvise", "thread"};

const char *prefetch_mode_name(PrefetchMode mode) {
    return mode >= PREFETCH_OFF && mode <= PREFETCH_THREAD ? MODE_NAMES[mode] : "?";
}

int prefetch_mode_parse(const char *s) {
    for (int i = 0; i <= PREFETCH_THREAD; i++) if (!strcmp(s, MODE_NAMES[i])) return i;
    return -1;
}

static void *page_address(const Prefetcher *p, size_t page) {
    return (void *)(p->table->base + page * p->page_bytes);
}

/* ---- the helper thread ---------------------------------------------------------- */

/* All reads are started first (they proceed in parallel), then the pages are touched,
 * which waits for them and maps them into this process. */
static void fetch(const Prefetcher *p, const size_t *pages, int n) {
    volatile uint8_t sink = 0;
    for (int i = 0; i < n; i++) madvise(page_address(p, pages[i]), p->page_bytes, MADV_WILLNEED);
    for (int i = 0; i < n; i++) sink ^= *(const volatile uint8_t *)page_address(p, pages[i]);
    (void)sink;
}

static void *helper(void *arg) {
    Prefetcher *p = arg;
    size_t pages[QUEUE_PAGES];
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->queued && !p->stop) pthread_cond_wait(&p->wake, &p->lock);
        if (p->stop) break;
        int n = p->queued;
        memcpy(pages, p->queue, sizeof(size_t) * n);
        p->queued = 0;
        p->busy = 1;
        pthread_mutex_unlock(&p->lock);
        fetch(p, pages, n);
        pthread_mutex_lock(&p->lock);
        p->busy = 0;
        if (!p->queued) pthread_cond_broadcast(&p->idle);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static void stop_helper(Prefetcher *p) {
    if (!p->running) return;
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    p->running = p->stop = p->queued = p->busy = 0;
}

static int start_helper(Prefetcher *p) {
    if (p->running) return OK;
    if (pthread_create(&p->thread, NULL, helper, p) != 0)
        return error_set(ERR_FAILURE, "cannot start the prefetch thread");
    p->running = 1;
    return OK;
}

/* ---- requests -------------------------------------------------------------------- */

int prefetcher_create(Prefetcher **out, const RomTable *t, PrefetchMode mode) {
    Prefetcher *p = calloc(1, sizeof *p);
    if (!p) return error_set(ERR_FAILURE, "out of memory");
    p->table = t;
    p->page_bytes = (size_t)sysconf(_SC_PAGESIZE);
    p->pages = (t->file_bytes + p->page_bytes - 1) / p->page_bytes;
    p->requested = calloc(p->pages, 1);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->idle, NULL);
    /* rows are read at random: read-around (up to 128 KB per fault) would fetch
     * neighbours nobody asked for */
    madvise((void *)t->base, t->file_bytes, MADV_RANDOM);
    int rc = p->requested ? prefetcher_set_mode(p, mode) : error_set(ERR_FAILURE, "out of memory");
    if (rc) { prefetcher_free(p); return rc; }
    *out = p;
    return OK;
}

void prefetcher_free(Prefetcher *p) {
    if (!p) return;
    stop_helper(p);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->idle);
    free(p->requested);
    free(p);
}

int prefetcher_set_mode(Prefetcher *p, PrefetchMode mode) {
    if (mode != PREFETCH_THREAD) stop_helper(p);
    p->mode = mode;
    return mode == PREFETCH_THREAD ? start_helper(p) : OK;
}

PrefetchMode prefetcher_mode(const Prefetcher *p) { return p->mode; }

void prefetcher_set_cache_lines(Prefetcher *p, int on) { p->no_cache_lines = !on; }

/* New pages of bytes [row, row + bytes): madvise here, or queue them for the helper
 * (dropped when the queue is full: a prefetch is only a hint, the lookup will fault the
 * page in). */
static int request_row(Prefetcher *p, const uint8_t *row, size_t bytes) {
    const RomTable *t = p->table;
    size_t first = (size_t)(row - t->base) / p->page_bytes;
    size_t last = (size_t)(row + bytes - 1 - t->base) / p->page_bytes;
    int queued = 0;
    for (size_t page = first; page <= last; page++) {
        if (p->requested[page]) continue;
        p->requested[page] = 1;
        if (p->mode == PREFETCH_MADVISE) {
            madvise(page_address(p, page), p->page_bytes, MADV_WILLNEED);
        } else if (p->queued < QUEUE_PAGES) {
            p->queue[p->queued++] = page;
            queued = 1;
        }
    }
    return queued;
}

/* One span of rows: its cache lines, and its pages unless already requested. *locked
 * tracks the queue lock of the thread mode, taken at the first new page of a request. */
static int request_one(Prefetcher *p, const uint8_t *row, size_t bytes, int *locked) {
    const RomTable *t = p->table;
    if (!p->no_cache_lines)
        for (size_t b = 0; b < bytes; b += 64) __builtin_prefetch(row + b, 0, 3);
    if (p->mode == PREFETCH_THREAD && !*locked) {   /* only when a page is new */
        size_t page = (size_t)(row - t->base) / p->page_bytes;
        size_t end = (size_t)(row + bytes - 1 - t->base) / p->page_bytes;
        int fresh = 0;
        for (size_t q = page; q <= end && !fresh; q++) fresh = !p->requested[q];
        if (!fresh) return 0;
        pthread_mutex_lock(&p->lock);
        *locked = 1;
    }
    return request_row(p, row, bytes);
}

static void finish_request(Prefetcher *p, int locked, int queued) {
    if (!locked) return;
    if (queued) pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
}

void prefetcher_request(Prefetcher *p, const int32_t *tokens, int n) {
    const RomTable *t = p->table;
    if (p->mode == PREFETCH_OFF) return;
    int locked = 0, queued = 0;
    for (int i = 0; i < n; i++) {   /* a token's rows of every table are one span */
        const uint8_t *rows = rom_table_row_address(t, t->layer[0], tokens[i]);
        if (rows) queued |= request_one(p, rows, t->token_stride, &locked);
    }
    finish_request(p, locked, queued);
}

void prefetcher_request_rows(Prefetcher *p, int layer, const int32_t *rows, int n) {
    if (p->mode == PREFETCH_OFF) return;
    int locked = 0, queued = 0;
    for (int i = 0; i < n; i++) {
        const uint8_t *row = rom_table_row_address(p->table, layer, rows[i]);
        if (row) queued |= request_one(p, row, p->table->row_bytes, &locked);
    }
    finish_request(p, locked, queued);
}

void prefetcher_drain(Prefetcher *p) {
    if (!p->running) return;
    pthread_mutex_lock(&p->lock);
    while (p->queued || p->busy) pthread_cond_wait(&p->idle, &p->lock);
    pthread_mutex_unlock(&p->lock);
}

/* ---- residency ------------------------------------------------------------------ */

size_t prefetcher_resident_bytes(const Prefetcher *p) {
    const RomTable *t = p->table;
    unsigned char *vec = malloc(p->pages);
    if (!vec || mincore((void *)t->base, t->file_bytes, vec) != 0) { free(vec); return 0; }
    size_t resident = 0;
    for (size_t i = 0; i < p->pages; i++) resident += vec[i] & 1;
    free(vec);
    return resident * p->page_bytes;
}

/* Our own page-table entries go first: the page cache keeps pages a process maps. */
size_t prefetcher_evict(Prefetcher *p) {
    const RomTable *t = p->table;
    prefetcher_drain(p);
    madvise((void *)t->base, t->file_bytes, MADV_DONTNEED);
    posix_fadvise(t->fd, 0, 0, POSIX_FADV_DONTNEED);
    memset(p->requested, 0, p->pages);
    return prefetcher_resident_bytes(p);
}

void prefetcher_populate(Prefetcher *p) {
    const RomTable *t = p->table;
    prefetcher_drain(p);
    madvise((void *)t->base, t->file_bytes, MADV_WILLNEED);
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < p->pages; i++) sink ^= t->base[i * p->page_bytes];
    (void)sink;
    memset(p->requested, 1, p->pages);
}
