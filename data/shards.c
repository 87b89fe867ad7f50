/* Token shards brought in (layouts in shards.h): checked once when prepared, then read in
 * place by window. */
#include "data/shards.h"
#include "data/summary.h"
#include "data/checksum.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/progress.h"
#include <errno.h>
#include <glob.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "shards are read as little-endian int32 and uint16; add a byte swap for this host"
#endif

enum { LLMC_HEADER_INTS = 256, LLMC_MAGIC = 20240520, LLMC_VERSION = 1, LLMC_MAGIC_LLAMA3 = 20240801 };
enum { SHARDS_MAX = 1 << 16, SCAN_IDS = 1 << 19, PATH_BYTES = 4096 };
enum { SHARD_VOCAB_MIN = 256, SHARD_VOCAB_MAX = 65536 };

int shard_format_parse(const char *name, ShardFormat *format) {
    if (!strcmp(name, "llmc")) *format = SHARD_LLMC;
    else if (!strcmp(name, "raw")) *format = SHARD_RAW;
    else return error_set(ERR_INPUT, "--shard-format must be llmc or raw, not '%s'", name);
    return OK;
}

static const char *format_name(ShardFormat f) { return f == SHARD_LLMC ? "llmc" : "raw"; }

/* Where a shard's ids start and how many it holds, from its header and size. */
static int shard_probe(int fd, const char *path, ShardFormat format, long long size, long long *offset,
                       long *count) {
    if (format == SHARD_RAW) {
        if (size % 2)
            return error_set(ERR_INPUT, "%s: %lld bytes, an odd count: not uint16 tokens", path, size);
        if (size == 0) return error_set(ERR_INPUT, "%s: empty token file", path);
        *offset = 0, *count = (long)(size / 2);
        return OK;
    }
    int32_t header[LLMC_HEADER_INTS];
    if (size < (long long)sizeof header)
        return error_set(ERR_INPUT, "%s: truncated llm.c shard (%lld bytes, less than its %zu-byte header)",
                         path, size, sizeof header);
    if (pread(fd, header, sizeof header, 0) != (ssize_t)sizeof header)
        return error_set(ERR_INPUT, "%s: cannot read the header: %s", path, strerror(errno));
    if (header[0] == LLMC_MAGIC_LLAMA3)
        return error_set(ERR_INPUT, "%s: an llm.c LLaMA-3 shard (uint32 ids): only the GPT-2 layout "
                         "(magic %d, uint16 ids) is read", path, LLMC_MAGIC);
    if (header[0] != LLMC_MAGIC)
        return error_set(ERR_INPUT, "%s: not an llm.c token shard (magic %d, expected %d); nanoGPT's "
                         "raw .bin files take --shard-format raw", path, header[0], LLMC_MAGIC);
    if (header[1] != LLMC_VERSION)
        return error_set(ERR_INPUT, "%s: llm.c shard version %d, expected %d", path, header[1], LLMC_VERSION);
    long long ids = (size - (long long)sizeof header) / 2;
    if (header[2] <= 0 || (size - (long long)sizeof header) % 2 || header[2] != ids)
        return error_set(ERR_INPUT, "%s: the header says %d tokens but the file holds %lld bytes after it "
                         "(truncated?)", path, header[2], size - (long long)sizeof header);
    *offset = (long long)sizeof header, *count = header[2];
    return OK;
}

/* What reading shards whole gathers: the checksum of each, unigram counts of train, the
 * val negative log-likelihood under them, and (val) a copy. */
typedef struct {
    int vocab;
    double *counts, train_total, nll;   /* counts NULL: none gathered */
    int score;                          /* val: add to nll instead of counts */
    TokenWriter *copy;
    Progress progress;
    double done;
} Scan;

/* Reads count ids from offset of fd: *checksum of them (from CHECKSUM_SEED), each below
 * the vocabulary (ERR_INPUT naming the file and the id's index otherwise). */
static int shard_scan(int fd, const char *path, long long offset, long count, Scan *sc, uint64_t *checksum) {
    uint16_t *buffer = malloc(sizeof *buffer * SCAN_IDS);
    if (!buffer) return error_set(ERR_FAILURE, "out of memory reading %s", path);
    int rc = OK;
    uint64_t sum = CHECKSUM_SEED;
    for (long at = 0; at < count && !rc;) {
        long want = count - at < SCAN_IDS ? count - at : SCAN_IDS;
        ssize_t got = pread(fd, buffer, (size_t)want * 2, (off_t)(offset + 2 * (long long)at));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0 || got % 2) {
            rc = error_set(ERR_INPUT, "%s: cannot read tokens from %ld: %s", path, at,
                           got < 0 ? strerror(errno) : "short read (truncated?)");
            break;
        }
        long n = got / 2;
        for (long i = 0; i < n && !rc; i++)
            if (buffer[i] >= sc->vocab)
                rc = error_set(ERR_INPUT, "%s: token id %d at token %ld (byte %lld) is not below the "
                               "vocabulary %d (--vocab)", path, buffer[i], at + i, offset + 2 * (at + i), sc->vocab);
        if (rc) break;
        sum = checksum_update(sum, buffer, (size_t)n * 2);
        if (sc->counts && !sc->score)
            for (long i = 0; i < n; i++) sc->counts[buffer[i]] += 1;
        if (sc->counts && sc->score)
            for (long i = 0; i < n; i++)
                sc->nll -= log((sc->counts[buffer[i]] + 1) / (sc->train_total + sc->vocab));
        if (sc->copy && (rc = token_writer_add(sc->copy, buffer, n))) break;
        at += n;
        sc->done += 2.0 * n;
        progress_update(&sc->progress, sc->done, path);
    }
    free(buffer);
    *checksum = sum;
    return rc;
}

/* ---- the inputs ---- */

typedef struct {
    char **paths;
    int count;
} PathList;

static void paths_free(PathList *l) {
    for (int i = 0; i < l->count; i++) free(l->paths[i]);
    free(l->paths);
    memset(l, 0, sizeof *l);
}

/* Each pattern's matches (sorted, as glob gives them), as absolute paths: the manifest
 * works from any folder. A pattern matching nothing is an error naming it. */
static int expand(const char *const *patterns, int n, const char *flag, PathList *out) {
    memset(out, 0, sizeof *out);
    if (n <= 0) return error_set(ERR_INPUT, "%s: no shard files given", flag);
    int rc = OK;
    for (int p = 0; p < n && !rc; p++) {
        glob_t g;
        int found = glob(patterns[p], 0, NULL, &g);
        if (found == GLOB_NOMATCH || (found == 0 && g.gl_pathc == 0))
            rc = error_set(ERR_INPUT, "%s: '%s' matches no file", flag, patterns[p]);
        else if (found)
            rc = error_set(ERR_INPUT, "%s: cannot expand '%s'", flag, patterns[p]);
        for (size_t i = 0; !rc && i < g.gl_pathc; i++) {
            char absolute[PATH_MAX];
            if (out->count >= SHARDS_MAX) {
                rc = error_set(ERR_INPUT, "%s: more than %d shard files", flag, SHARDS_MAX);
                break;
            }
            if (!realpath(g.gl_pathv[i], absolute)) {
                rc = error_set(ERR_INPUT, "%s: %s: %s", flag, g.gl_pathv[i], strerror(errno));
                break;
            }
            if (strchr(absolute, '\n')) {
                rc = error_set(ERR_INPUT, "%s: a file name holds a newline: %s", flag, g.gl_pathv[i]);
                break;
            }
            char **bigger = realloc(out->paths, (size_t)(out->count + 1) * sizeof *bigger);
            if (!bigger || !(bigger[out->count] = strdup(absolute))) {
                if (bigger) out->paths = bigger;
                rc = error_set(ERR_FAILURE, "out of memory listing shards");
                break;
            }
            out->paths = bigger;
            out->count++;
        }
        if (found == 0 || found == GLOB_NOMATCH) globfree(&g);
    }
    if (rc) paths_free(out);
    return rc;
}

/* The identity of the inputs without reading them: format, vocabulary, and each file's
 * path, size and mtime (a changed shard makes the folder out of date). */
static int inputs_fingerprint(const ShardOptions *o, const PathList *train, const PathList *val,
                              uint64_t *paths_hash, uint64_t *fingerprint) {
    uint64_t h = checksum_bytes("shards", 7);
    unsigned char extra[8] = {(unsigned char)o->format};
    memcpy(extra + 4, &o->vocab_size, 4);
    h = checksum_update(h, extra, sizeof extra);
    uint64_t f = h;
    for (int side = 0; side < 2; side++) {
        const PathList *l = side ? val : train;
        const char *name = side ? "val" : "train";   /* its NUL included: "val" is 4 bytes, not 6 */
        h = checksum_update(h, name, strlen(name) + 1);
        f = checksum_update(f, name, strlen(name) + 1);
        for (int i = 0; i < l->count; i++) {
            struct stat st;
            if (stat(l->paths[i], &st) != 0)
                return error_set(ERR_INPUT, "%s: %s", l->paths[i], strerror(errno));
            long long facts[2] = {(long long)st.st_size,
                                  (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec};
            h = checksum_update(h, l->paths[i], strlen(l->paths[i]) + 1);
            f = checksum_update(f, l->paths[i], strlen(l->paths[i]) + 1);
            f = checksum_update(f, facts, sizeof facts);
        }
    }
    *paths_hash = h, *fingerprint = f;
    return OK;
}

/* ---- preparing ---- */

typedef struct {
    FILE *manifest;
    StampBook book;
    char *head;
    size_t head_length;
} Build;

/* Reads one list of shards whole; train ones go to the manifest, val ones into the copy. */
static int scan_list(const PathList *l, ShardFormat format, Scan *sc, Build *b, long *tokens) {
    for (int i = 0; i < l->count; i++) {
        int fd;
        long long size, offset;
        long count;
        uint64_t checksum;
        TokenStamp stamp;
        int rc = open_input(l->paths[i], "token shard", &fd, &size);
        if (rc) return rc;
        rc = shard_probe(fd, l->paths[i], format, size, &offset, &count);
        if (!rc) rc = token_stamp_of(fd, l->paths[i], &stamp);
        if (!rc) rc = shard_scan(fd, l->paths[i], offset, count, sc, &checksum);
        close(fd);
        if (rc) return rc;
        stamp.checksum = checksum;
        *tokens += count;
        if (b->manifest) {
            fprintf(b->manifest, "shard = %lld %ld %016" PRIx64 " %s\n", offset, count, checksum, l->paths[i]);
            if ((rc = stamps_set(&b->book, l->paths[i], &stamp))) return rc;
        }
    }
    return OK;
}

static double total_bytes(const PathList *l) {
    double total = 0;
    for (int i = 0; i < l->count; i++) {
        long long size = file_size(l->paths[i]);
        total += size > 0 ? (double)size : 0;
    }
    return total;
}

static int build(const char *dir, const ShardOptions *o, const PathList *train, const PathList *val,
                 uint64_t fingerprint, DataSummary *s, FILE *log) {
    char temp[PATH_BYTES + 64], path[PATH_BYTES + 96];
    snprintf(path, sizeof path, "%s", dir);
    char *slash = strrchr(path, '/');
    if (slash && slash != path) *slash = 0;
    int rc = slash && slash != path ? make_dirs(path) : OK;
    if (!rc) rc = temp_dir_create(temp, sizeof temp, dir);
    if (rc) return rc;
    Build b = {0};
    Scan sc = {.vocab = o->vocab_size};
    TokenWriter copy;
    int copying = 0;
    sc.counts = calloc((size_t)o->vocab_size, sizeof *sc.counts);
    snprintf(path, sizeof path, "%s/train.shards", temp);
    if (!sc.counts) rc = error_set(ERR_FAILURE, "out of memory");
    if (!rc && !(b.manifest = fopen(path, "w")))
        rc = error_set(ERR_FAILURE, "cannot write %s: %s", path, strerror(errno));
    progress_begin_after(&sc.progress, "checking token shards", total_bytes(train) + total_bytes(val), 2);
    if (!rc) {
        fprintf(b.manifest, "# meki data: the train token shards, read in place: offset count checksum path\n"
                            "shard_format = %s\nvocab_size = %d\n", format_name(o->format), o->vocab_size);
        rc = scan_list(train, o->format, &sc, &b, &s->train_tokens);
    }
    if (b.manifest && (ferror(b.manifest) | fclose(b.manifest)) && !rc)
        rc = error_set(ERR_FAILURE, "cannot write %s: %s", path, strerror(errno));
    b.manifest = NULL;
    snprintf(path, sizeof path, "%s/val.tok", temp);
    if (!rc && !(rc = token_writer_open(&copy, path, o->vocab_size))) {
        copying = 1;
        sc.copy = &copy, sc.score = 1, sc.train_total = (double)s->train_tokens;
        rc = scan_list(val, o->format, &sc, &b, &s->val_tokens);
        if (!rc) {
            copying = 0;
            rc = token_writer_commit(&copy);
        }
    }
    if (copying) token_writer_abort(&copy);
    progress_end(&sc.progress);
    if (!rc && s->train_tokens < 2) rc = error_set(ERR_INPUT, "--shards: fewer than 2 train tokens");
    if (!rc && s->val_tokens < 2) rc = error_set(ERR_INPUT, "--val-shards: fewer than 2 held-out tokens");
    if (!rc) {   /* val.tok was just written from ids checked on the way: its stamp */
        int fd;
        long long size;
        TokenStamp stamp;
        if (!(rc = open_input(path, "token file", &fd, &size))) {
            rc = token_stamp_of(fd, path, &stamp);
            close(fd);
        }
        stamp.checksum = copy.checksum;
        if (!rc) rc = stamps_set(&b.book, "val.tok", &stamp);
    }
    s->vocab_size = o->vocab_size;
    s->documents = train->count + val->count;
    s->val_documents = val->count;
    s->no_tokenizer = 1;
    s->unigram_val_ppl = s->val_tokens > 0 ? exp(sc.nll / (double)s->val_tokens) : NAN;
    free(sc.counts);
    if (!rc) {
        char head[1024];
        snprintf(head, sizeof head,
                 "# meki data: token shards brought in; ./meki data --shards rebuilds it when they change\n"
                 "format = 1\nfingerprint = %016" PRIx64 "\ncorpus = shards\ntokenizer = none\n"
                 "shard_format = %s\ntrain_shards = %d\nval_shards = %d\n",
                 fingerprint, format_name(o->format), train->count, val->count);
        rc = dataset_summary_write(temp, head, NULL, s);
    }
    if (!rc) stamps_save(&b.book, temp);
    stamps_free(&b.book);
    static const char *const files[] = {"train.shards", "val.tok", "verified.txt"};
    if (!rc) rc = dataset_install(temp, dir, files, 3);
    remove_flat_dir(temp);
    if (!rc && log) fprintf(log, "meki data: %ld train tokens in %d shard%s (read in place), %ld val tokens copied to %s/val.tok\n",
                            s->train_tokens, train->count, train->count == 1 ? "" : "s", s->val_tokens, dir);
    return rc;
}

static int check_options(const ShardOptions *o) {
    if (o->vocab_size < SHARD_VOCAB_MIN || o->vocab_size > SHARD_VOCAB_MAX)
        return error_set(ERR_INPUT, "--vocab %d: token shards take %d..%d (uint16 ids)", o->vocab_size,
                         SHARD_VOCAB_MIN, SHARD_VOCAB_MAX);
    if (o->n_val <= 0)
        return error_set(ERR_INPUT, "--val-shards: give the held-out shards (llm.c's *_val_*.bin, nanoGPT's val.bin)");
    if (o->out_dir && (!o->out_dir[0] || strlen(o->out_dir) >= PATH_BYTES - 64))
        return error_set(ERR_INPUT, "bad output folder '%s'", o->out_dir);
    return OK;
}

int shards_prepare(const ShardOptions *given, DataSummary *s, FILE *log, int *reused) {
    memset(s, 0, sizeof *s);
    if (reused) *reused = 0;
    ShardOptions o = *given;
    if (!o.vocab_size) o.vocab_size = SHARD_DEFAULT_VOCAB;
    int rc = check_options(&o);
    if (rc) return rc;
    PathList train = {0}, val = {0};
    uint64_t paths_hash = 0, fingerprint = 0;
    if (!(rc = expand(o.train, o.n_train, "--shards", &train))) rc = expand(o.val, o.n_val, "--val-shards", &val);
    for (int i = 0; !rc && i < train.count; i++)
        for (int j = 0; !rc && j < val.count; j++)
            if (!strcmp(train.paths[i], val.paths[j]))
                rc = error_set(ERR_INPUT, "%s is both a train and a val shard", val.paths[j]);
    if (!rc) rc = inputs_fingerprint(&o, &train, &val, &paths_hash, &fingerprint);
    char dir[PATH_BYTES];
    if (!rc) {
        if (o.out_dir) snprintf(dir, sizeof dir, "%s", o.out_dir);
        else snprintf(dir, sizeof dir, "data/cache/shards-%016" PRIx64 "-v%d", paths_hash, o.vocab_size);
    }
    uint64_t recorded = 0;   /* the summary's fingerprint: same inputs, same sizes and mtimes */
    if (!rc && !o.verify && dataset_summary_read(dir, s, &recorded) == OK && s->no_tokenizer &&
        recorded == fingerprint) {
        if (log) fprintf(log, "meki data: %s is up to date for these shards; nothing to do\n", dir);
        if (reused) *reused = 1;
        paths_free(&train);
        paths_free(&val);
        return OK;
    }
    memset(s, 0, sizeof *s);
    if (!rc) {
        error_clear();   /* what the reuse check found wrong: the folder is rebuilt */
        if (log) fprintf(log, "meki data: reading %d train and %d val shards whole (once) into %s\n",
                         train.count, val.count, dir);
        rc = build(dir, &o, &train, &val, fingerprint, s, log);
    }
    if (!rc) rc = dataset_summary_load(dir, s);
    if (rc) memset(s, 0, sizeof *s);
    paths_free(&train);
    paths_free(&val);
    return rc;
}

/* ---- opening ---- */

/* One "shard = OFFSET COUNT CHECKSUM PATH" line; 0 when malformed. */
static int parse_shard_line(char *value, long long *offset, long *count, uint64_t *checksum, char **path) {
    int at = 0;
    if (sscanf(value, "%lld %ld %" SCNx64 " %n", offset, count, checksum, &at) != 3 || !at) return 0;
    *path = value + at;
    return *offset >= 0 && *count > 0 && **path == '/';
}

/* Opens one shard of a manifest, reading it whole when its stamp does not vouch for it. */
static int open_shard(const char *path, long long offset, long count, uint64_t checksum, int vocab,
                      StampBook *book, int full, Progress *progress, double *done, TokenSegment *seg) {
    int fd;
    long long size;
    int rc = open_input(path, "token shard", &fd, &size);
    if (rc) return rc;
    TokenStamp now, known = stamps_find(book, path);
    if (offset > size || (size - offset) % 2 || (size - offset) / 2 != count)   /* no offset + 2 * count: it may overflow */
        rc = error_set(ERR_INPUT, "%s: %lld bytes, but %ld tokens from byte %lld were prepared: it changed "
                       "since ./meki data (run it again)", path, size, count, offset);
    if (!rc) rc = token_stamp_of(fd, path, &now);
    now.checksum = checksum;
    if (!rc && (full || known.size != now.size || known.mtime_ns != now.mtime_ns || known.checksum != checksum)) {
        Scan sc = {.vocab = vocab, .progress = *progress, .done = *done};
        uint64_t sum;
        rc = shard_scan(fd, path, offset, count, &sc, &sum);
        *progress = sc.progress, *done = sc.done;
        if (!rc && sum != checksum)
            rc = error_set(ERR_INPUT, "%s: its tokens changed since ./meki data (checksum %016" PRIx64
                           ", prepared %016" PRIx64 "): run it again", path, sum, checksum);
        if (!rc) rc = stamps_set(book, path, &now);
    }
    if (rc) {
        close(fd);
        return rc;
    }
    seg->fd = fd, seg->count = count, seg->offset = offset;
    return OK;
}

/* Each shard stays open (windows read through it): raise the soft limit on descriptors
 * toward the hard one when the shards need more (llm.c's FineWeb-100B has 1001). */
static int allow_open_files(int shards, const char *manifest) {
    struct rlimit limit;
    rlim_t need = (rlim_t)shards + 64;   /* the checkpoint, the database, stdio... */
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= need) return OK;
    if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < need)
        return error_set(ERR_INPUT, "%s names %d shards, each kept open, but this process may open %llu "
                         "files (ulimit -Hn): raise it, or join shards", manifest, shards,
                         (unsigned long long)limit.rlim_max);
    limit.rlim_cur = need;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0)
        return error_set(ERR_FAILURE, "cannot raise the open file limit to %llu: %s", (unsigned long long)need,
                         strerror(errno));
    return OK;
}

int shards_open(TokenFile *tf, const char *manifest, StampBook *book, int full) {
    memset(tf, 0, sizeof *tf);
    char *text;
    size_t bytes;
    int rc = read_file(manifest, &text, &bytes);
    if (rc) return rc;
    TokenSegment *segs = NULL;
    int n = 0, vocab = 0, number = 0;
    long total = 0;
    Progress progress;
    double done = 0, id_bytes = 0;
    int lines = 0;
    for (const char *at = strstr(text, "\nshard = "); at; at = strstr(at + 1, "\nshard = ")) {
        long long offset;
        long count;
        lines++;
        if (sscanf(at + 9, "%lld %ld", &offset, &count) == 2 && count > 0) id_bytes += 2.0 * count;
    }
    if ((rc = allow_open_files(lines, manifest))) {
        free(text);
        return rc;
    }
    progress_begin_after(&progress, "checking changed token shards", id_bytes, 2);
    for (char *line = text, *next; line && *line && !rc; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        number++;
        if (line[0] == '#' || !line[0]) continue;
        long long offset;
        long count;
        uint64_t checksum;
        char *path;
        if (!strncmp(line, "vocab_size = ", 13)) {
            /* one only: the shards before a second were checked against another vocabulary */
            if (vocab) rc = error_set(ERR_INPUT, "%s:%d: a second vocab_size", manifest, number);
            vocab = atoi(line + 13);
            if (!rc && (vocab < SHARD_VOCAB_MIN || vocab > SHARD_VOCAB_MAX))
                rc = error_set(ERR_INPUT, "%s:%d: bad vocab_size", manifest, number);
        } else if (!strncmp(line, "shard_format = ", 15)) {
            continue;
        } else if (strncmp(line, "shard = ", 8) || !parse_shard_line(line + 8, &offset, &count, &checksum, &path)) {
            rc = error_set(ERR_INPUT, "%s:%d: expected shard = OFFSET COUNT CHECKSUM /PATH", manifest, number);
        } else if (!vocab) {
            rc = error_set(ERR_INPUT, "%s:%d: a shard before vocab_size", manifest, number);
        } else if (n >= SHARDS_MAX || count > LONG_MAX - total) {
            rc = error_set(ERR_INPUT, "%s:%d: too many shards or tokens", manifest, number);
        } else {
            TokenSegment *bigger = realloc(segs, (size_t)(n + 1) * sizeof *segs);
            if (!bigger) {
                rc = error_set(ERR_FAILURE, "out of memory opening %s", manifest);
                break;
            }
            segs = bigger;
            rc = open_shard(path, offset, count, checksum, vocab, book, full, &progress, &done, &segs[n]);
            if (!rc) {
                segs[n++].first = total;
                total += count;
            }
        }
    }
    progress_end(&progress);
    free(text);
    if (!rc && n == 0) rc = error_set(ERR_INPUT, "%s names no shard", manifest);
    if (rc) {
        for (int i = 0; i < n; i++) close(segs[i].fd);
        free(segs);
        return rc;
    }
    token_file_set_segments(tf, segs, n, vocab);
    return OK;
}
