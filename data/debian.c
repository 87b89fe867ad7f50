#include "data/debian.h"
#include "data/boilerplate.h"
#include "data/checksum.h"
#include "data/dedup.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/progress.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Bump when a converter command, the work folder layout or the cleaning changes: old
 * conversions are redone, and sweeps naming the corpus get new run identities. */
enum { DEBIAN_FORMAT = 1, PATH_BYTES = 4096 };
#define CONVERTED_MAX (256LL << 20)

typedef enum { CONVERT_TEXT, CONVERT_HTML, CONVERT_POD, CONVERT_MAN, CONVERT_KJV } Converter;

/* The shell command that prints file %s as text (the path is given shell-quoted). zcat -f
 * passes uncompressed files through; dictzip's .dz is gzip. */
static const char *const COMMANDS[] = {
    [CONVERT_TEXT] = "zcat -f %s",
    [CONVERT_HTML] = "zcat -f %s | w3m -dump -T text/html -O UTF-8 -cols 80",
    [CONVERT_POD] = "pod2text %s",
    [CONVERT_MAN] = "MANWIDTH=80 GROFF_NO_SGR=1 man -l -E UTF-8 %s | col -bx",
    [CONVERT_KJV] = NULL,   /* corpus_read_bible: one document per book */
};

typedef struct {
    const char *name, *packages;
    const char *under;    /* the files of the packages under this folder ... */
    const char *suffix;   /* ... whose names end so ("": a name without a dot) */
    Converter convert;
} Source;

static const Source SOURCES[] = {
    {"kjv", "bible-kjv", "", "", CONVERT_KJV},
    {"gcide", "dict-gcide", "/usr/share/dictd/", ".dict.dz", CONVERT_TEXT},
    {"wordnet", "dict-wn", "/usr/share/dictd/", ".dict.dz", CONVERT_TEXT},
    {"foldoc", "dict-foldoc", "/usr/share/dictd/", ".dict.dz", CONVERT_TEXT},
    {"devil", "dict-devil", "/usr/share/dictd/", ".dict.dz", CONVERT_TEXT},
    {"jargon", "jargon-text", "/usr/share/doc/jargon-text/", ".txt.gz", CONVERT_TEXT},
    {"fortunes", "fortunes", "/usr/share/games/fortunes/", "", CONVERT_TEXT},
    {"man", "manpages manpages-dev", "/usr/share/man/", ".gz", CONVERT_MAN},
    {"perl", "perl-doc", "/usr/share/perl/", ".pod", CONVERT_POD},
    {"python", "python3.11-doc", "/usr/share/doc/python3.11/html/", ".html", CONVERT_HTML},
    {"postgresql", "postgresql-doc-15", "/usr/share/doc/postgresql-doc-15/html/", ".html", CONVERT_HTML},
    {"linux", "linux-doc-6.1", "/usr/share/doc/linux-doc-6.1/html/", ".html", CONVERT_HTML},
    {"debian-reference", "debian-reference-en", "/usr/share/debian-reference/", ".en.html", CONVERT_HTML},
    {"debian-handbook", "debian-handbook", "/usr/share/doc/debian-handbook/html/en-US/", ".html", CONVERT_HTML},
    {"debian-policy", "debian-policy", "/usr/share/doc/debian-policy/", ".html", CONVERT_HTML},
    {"developers-reference", "developers-reference", "/usr/share/developers-reference/", ".html", CONVERT_HTML},
    {"debian-faq", "debian-faq", "/usr/share/doc/debian/FAQ/", ".en.html", CONVERT_HTML},
    {"gnu-standards", "gnu-standards", "/usr/share/doc/gnu-standards/", ".html", CONVERT_HTML},
    {"bash", "bash-doc", "/usr/share/doc/bash/", ".html", CONVERT_HTML},
    {"git", "git-doc", "/usr/share/doc/git-doc/", ".html", CONVERT_HTML},
    {"cmake", "cmake-doc", "/usr/share/doc/cmake-data/html/", ".html", CONVERT_HTML},
    {"django", "python-django-doc", "/usr/share/doc/python-django-doc/html/", ".html", CONVERT_HTML},
    {"scipy", "python-scipy-doc", "/usr/share/doc/python-scipy-doc/html/", ".html", CONVERT_HTML},
    {"nodejs", "nodejs-doc", "/usr/share/doc/nodejs/api/", ".html", CONVERT_HTML},
    {"erlang", "erlang-doc", "/usr/share/doc/erlang-doc/", ".html", CONVERT_HTML},
    {"octave", "octave-doc", "/usr/share/doc/octave/", ".html", CONVERT_HTML},
    {"maxima", "maxima-doc", "/usr/share/doc/maxima-doc/html/", ".html", CONVERT_HTML},
};
enum { N_SOURCES = sizeof SOURCES / sizeof SOURCES[0] };

/* The converters' packages: zcat (gzip), w3m, pod2text (perl), man (man-db) with groff
 * (groff-base), col (bsdextrautils). */
static const char CONVERTER_PACKAGES[] = "bsdextrautils groff-base gzip man-db perl w3m";

int debian_source_count(void) { return N_SOURCES; }
const char *debian_source_name(int i) { return SOURCES[i].name; }
const char *debian_source_packages(int i) { return SOURCES[i].packages; }

static int by_string(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

const char *debian_packages(void) {
    static char list[2048];
    if (list[0]) return list;
    char all[2048], *words[128];
    int n = 0;
    size_t at = (size_t)snprintf(all, sizeof all, "%s", CONVERTER_PACKAGES);
    for (int i = 0; i < N_SOURCES; i++) at += (size_t)snprintf(all + at, sizeof all - at, " %s", SOURCES[i].packages);
    for (char *save, *w = strtok_r(all, " ", &save); w && n < 128; w = strtok_r(NULL, " ", &save)) words[n++] = w;
    qsort(words, (size_t)n, sizeof *words, by_string);
    at = 0;
    for (int i = 0; i < n; i++)
        if (!i || strcmp(words[i], words[i - 1]))
            at += (size_t)snprintf(list + at, sizeof list - at, "%s%s", at ? " " : "", words[i]);
    return list;
}

/* ---- running commands ---- */

/* 'text' with each ' written '\'' (the shell's quoting of any path). */
static int shell_quote(char *out, size_t size, const char *text) {
    size_t at = 0;
    if (size < 3) return 0;
    out[at++] = '\'';
    for (const char *p = text; *p; p++) {
        const char *piece = *p == '\'' ? "'\\''" : NULL;
        size_t n = piece ? 4 : 1;
        if (at + n + 2 > size) return 0;
        if (piece) memcpy(out + at, piece, n);
        else out[at] = *p;
        at += n;
    }
    out[at++] = '\'';
    out[at] = 0;
    return 1;
}

/* Runs command, its standard output into *out (malloc'd, at most CONVERTED_MAX bytes);
 * *status is its wait status. ERR_FAILURE only when it cannot be started or is too large. */
static int run_capture(const char *command, char **out, size_t *bytes, int *status) {
    *out = NULL, *bytes = 0;
    FILE *pipe = popen(command, "re");   /* close-on-exec: converters started at once by other
                                          * threads must not hold this pipe open */
    if (!pipe) return error_set(ERR_FAILURE, "cannot run `%s`: %s", command, strerror(errno));
    size_t capacity = 1 << 16;
    char *buffer = malloc(capacity);
    int rc = buffer ? OK : error_set(ERR_FAILURE, "out of memory running `%s`", command);
    size_t got;
    while (!rc && (got = fread(buffer + *bytes, 1, capacity - *bytes, pipe)) > 0) {
        *bytes += got;
        if (*bytes == capacity) {
            if ((long long)capacity * 2 > CONVERTED_MAX) {
                rc = error_set(ERR_FAILURE, "`%s` printed more than %lld bytes", command, CONVERTED_MAX);
                break;
            }
            char *bigger = realloc(buffer, capacity * 2);
            if (!bigger) rc = error_set(ERR_FAILURE, "out of memory running `%s`", command);
            else buffer = bigger, capacity *= 2;
        }
    }
    *status = pclose(pipe);
    if (!rc) buffer[*bytes] = 0;   /* room: the buffer grows whenever it fills */
    if (rc) {
        free(buffer);
        return rc;
    }
    *out = buffer;
    return OK;
}

static void admindir_flag(char *out, size_t size, const char *root) {
    char quoted[PATH_BYTES + 64], dir[PATH_BYTES + 32];
    snprintf(dir, sizeof dir, "%s/var/lib/dpkg", root);
    if (root[0] && shell_quote(quoted, sizeof quoted, dir)) snprintf(out, size, "--admindir=%s", quoted);
    else out[0] = 0;
}

/* ---- packages and versions ---- */

typedef struct {
    char name[64], version[128];
} Package;

/* Installed versions of every needed package; ERR_INPUT naming the missing ones. */
static int check_packages(const char *root, Package *packages, int *n) {
    char flag[PATH_BYTES + 96], command[8192];
    snprintf(command, sizeof command, "%s/var/lib/dpkg/status", root);
    if (!file_exists(command))
        return error_set(ERR_INPUT, "no dpkg database at %s: not an installed Debian tree", command);
    admindir_flag(flag, sizeof flag, root);
    const char *list = debian_packages();
    snprintf(command, sizeof command,
             "dpkg-query %s -W -f='${Package}\\t${Version}\\t${db:Status-Status}\\n' %s 2>/dev/null", flag, list);
    char *out;
    size_t bytes;
    int status, rc = run_capture(command, &out, &bytes, &status);
    if (rc) return rc;
    char missing[2048] = "", names[2048];
    snprintf(names, sizeof names, "%s", list);
    *n = 0;
    size_t at = 0;
    for (char *save, *w = strtok_r(names, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        const char *version = NULL;
        for (char *line = out; line && line < out + bytes;) {
            char *end = memchr(line, '\n', (size_t)(out + bytes - line));
            size_t length = end ? (size_t)(end - line) : (size_t)(out + bytes - line);
            char *tab = memchr(line, '\t', length), *tab2 = tab ? memchr(tab + 1, '\t', length - (size_t)(tab + 1 - line)) : NULL;
            if (tab2 && (size_t)(tab - line) == strlen(w) && !memcmp(line, w, strlen(w)) &&
                (size_t)(line + length - tab2 - 1) == 9 && !memcmp(tab2 + 1, "installed", 9)) {
                *tab2 = 0;
                version = tab + 1;
                break;
            }
            line = end ? end + 1 : NULL;
        }
        if (!version) at += (size_t)snprintf(missing + at, sizeof missing - at, "%s%s", at ? " " : "", w);
        else if (*n < 128) {
            snprintf(packages[*n].name, sizeof packages[*n].name, "%s", w);
            snprintf(packages[*n].version, sizeof packages[*n].version, "%s", version);
            (*n)++;
        }
    }
    free(out);
    if (missing[0])
        return error_set(ERR_INPUT, "the debian corpus needs Debian packages that are not installed%s%s: %s; "
                         "install them with `make corpus-debian` (as root), or `apt-get install %s`",
                         root[0] ? " under " : "", root, missing, missing);
    return OK;
}

static const char *version_of(const Package *packages, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (!strcmp(packages[i].name, name)) return packages[i].version;
    return "?";
}

/* ---- each source's files ---- */

typedef struct {
    const Source *source;
    char packages[512];      /* "manpages 6.03-2 manpages-dev 6.03-2" */
    char dir[PATH_BYTES];    /* its work folder */
    char **files;            /* paths inside root, sorted */
    int n_files, done;       /* done: every file converted (names.txt written) */
} Plan;

static int suffix_matches(const char *path, const char *suffix) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (!suffix[0]) return !strchr(base, '.');
    size_t n = strlen(path), k = strlen(suffix);
    return n > k && !strcmp(path + n - k, suffix);
}

/* The source's files: its packages' listed paths under `under` with the suffix, that are
 * regular files under root (dpkg lists folders and links too). */
static int list_files(const char *root, Plan *p) {
    char flag[PATH_BYTES + 96], command[8192], path[2 * PATH_BYTES];
    admindir_flag(flag, sizeof flag, root);
    snprintf(command, sizeof command, "dpkg-query %s -L %s 2>/dev/null", flag, p->source->packages);
    char *out;
    size_t bytes;
    int status, rc = run_capture(command, &out, &bytes, &status);
    if (rc) return rc;
    int capacity = 0;
    for (char *line = out; !rc && line < out + bytes;) {
        char *end = memchr(line, '\n', (size_t)(out + bytes - line));
        if (end) *end = 0;   /* the last line ends at run_capture's NUL */
        struct stat st;
        snprintf(path, sizeof path, "%s%s", root, line);
        if (!strncmp(line, p->source->under, strlen(p->source->under)) && suffix_matches(line, p->source->suffix) &&
            stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            if (p->n_files == capacity) {
                capacity = capacity ? 2 * capacity : 256;
                char **bigger = realloc(p->files, (size_t)capacity * sizeof *bigger);
                if (!bigger) rc = error_set(ERR_FAILURE, "out of memory listing %s", p->source->name);
                else p->files = bigger;
            }
            if (!rc && !(p->files[p->n_files++] = strdup(line)))
                rc = error_set(ERR_FAILURE, "out of memory listing %s", p->source->name);
        }
        line = end ? end + 1 : out + bytes;
    }
    free(out);
    if (!rc && p->n_files > 1) qsort(p->files, (size_t)p->n_files, sizeof *p->files, by_string);
    if (!rc && !p->n_files)
        rc = error_set(ERR_INPUT, "source %s: its packages (%s) list no file under %s%s ending in '%s'; has the "
                       "package's layout changed, or does a dpkg path-exclude (/etc/dpkg/dpkg.cfg.d) drop them?", p->source->name, p->packages, root, p->source->under,
                       p->source->suffix);
    return rc;
}

static void doc_path(char *out, size_t size, const char *dir, int i) { snprintf(out, size, "%s/%06d.txt", dir, i); }

static int write_atomic(const char *path, const char *text, size_t bytes) {
    AtomicFile af;
    int rc = atomic_open(&af, path);
    if (!rc) rc = atomic_write(&af, text, bytes);
    if (rc) {
        atomic_abort(&af);
        return rc;
    }
    return atomic_commit(&af);
}

/* The record that the folder is complete, written last: one name a line. */
static int write_names(const Plan *p, char *const *names, int n) {
    size_t length = 1;
    for (int i = 0; i < n; i++) length += strlen(names[i]) + 1;
    char *text = malloc(length), path[PATH_BYTES + 16];
    if (!text) return error_set(ERR_FAILURE, "out of memory");
    size_t at = 0;
    for (int i = 0; i < n; i++) at += (size_t)sprintf(text + at, "%s\n", names[i]);
    snprintf(path, sizeof path, "%s/names.txt", p->dir);
    int rc = write_atomic(path, text, at);
    free(text);
    return rc;
}

/* The KJV's 66 books as its documents. */
static int convert_kjv(Plan *p) {
    Corpus bible;
    int rc = corpus_read_bible(&bible);
    if (rc) return rc;
    char path[PATH_BYTES + 16];
    for (int i = 0; i < bible.count && !rc; i++) {
        doc_path(path, sizeof path, p->dir, i);
        rc = write_atomic(path, bible.text + bible.starts[i], bible.lengths[i]);
    }
    if (!rc) rc = write_names(p, bible.names, bible.count);
    corpus_free(&bible);
    return rc;
}

/* Converts file i of the plan unless its text is already there. A converter that fails on
 * one file (a man page whose .so target is elsewhere) gives an empty text, counted in
 * *failed; one that cannot run at all (exit 126, 127) stops the preparation. */
static int convert_one(const Plan *p, const char *root, int i, int *failed) {
    char path[PATH_BYTES + 16], full[2 * PATH_BYTES], quoted[4 * PATH_BYTES + 8], command[5 * PATH_BYTES];
    doc_path(path, sizeof path, p->dir, i);
    if (file_exists(path)) return OK;
    snprintf(full, sizeof full, "%s%s", root, p->files[i]);
    if (!shell_quote(quoted, sizeof quoted, full)) return error_set(ERR_INPUT, "path too long: %s", full);
    /* every command of the pipeline quiet (troff's warnings), not only the last; the
     * cache key holds the command without this wrapper */
    char inner[5 * PATH_BYTES - 32];
    snprintf(inner, sizeof inner, COMMANDS[p->source->convert], quoted);
    snprintf(command, sizeof command, "(%s) 2>/dev/null", inner);
    char *text;
    size_t bytes;
    int status, rc = run_capture(command, &text, &bytes, &status);
    if (rc) return rc;
    int code = status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code == 126 || code == 127) rc = error_set(ERR_FAILURE, "`%s` could not run a converter (exit %d)", command, code);
    else if (code != 0) *failed += 1, bytes = 0;
    if (!rc) rc = write_atomic(path, text, bytes);
    free(text);
    return rc;
}

typedef struct {
    Progress progress;
    int done, total;
} Overall;

/* Converts every file of the plan not converted yet (threads at once), then writes names.txt. */
static int convert_source(Plan *p, const char *root, int threads, Overall *all, FILE *log) {
    int rc = make_dirs(p->dir);
    if (rc) return rc;
    if (p->source->convert == CONVERT_KJV) {
        rc = convert_kjv(p);
        all->done += p->n_files;
        return rc;
    }
    int failed = 0, first_error = OK;
    char message[1024] = "";
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (int i = 0; i < p->n_files; i++) {
        int stop;
#pragma omp atomic read
        stop = first_error;
        if (stop) continue;
        int my_failed = 0, r = convert_one(p, root, i, &my_failed);
#pragma omp critical(debian_convert)
        {
            failed += my_failed;
            if (r && !first_error) first_error = r, snprintf(message, sizeof message, "%s", error_message());
            all->done++;
            progress_update(&all->progress, all->done, p->source->name);
        }
    }
    if (first_error) return error_set(first_error, "%s", message);
    if (failed && log)
        fprintf(log, "meki data: %s: %d of %d files gave no text (their converter failed); left out\n",
                p->source->name, failed, p->n_files);
    if (failed == p->n_files)
        return error_set(ERR_INPUT, "source %s: the converter failed on all %d files (e.g. %s%s)", p->source->name,
                         p->n_files, root, p->files[0]);
    return write_names(p, p->files, p->n_files);
}

/* ---- from converted texts to documents ---- */

typedef struct {
    char **texts, **names;
    size_t *lengths;
    int *source;
    int count, capacity;
} Docs;

static int docs_add(Docs *d, char *text, size_t length, const char *name, int source) {
    if (d->count == d->capacity) {
        int cap = d->capacity ? 2 * d->capacity : 1024;
        char **texts = realloc(d->texts, (size_t)cap * sizeof *texts);
        if (texts) d->texts = texts;
        char **names = realloc(d->names, (size_t)cap * sizeof *names);
        if (names) d->names = names;
        size_t *lengths = realloc(d->lengths, (size_t)cap * sizeof *lengths);
        if (lengths) d->lengths = lengths;
        int *sources = realloc(d->source, (size_t)cap * sizeof *sources);
        if (sources) d->source = sources;
        if (!texts || !names || !lengths || !sources) return error_set(ERR_FAILURE, "out of memory");
        d->capacity = cap;
    }
    if (!(d->names[d->count] = strdup(name))) return error_set(ERR_FAILURE, "out of memory");
    d->texts[d->count] = text, d->lengths[d->count] = length, d->source[d->count] = source;
    d->count++;
    return OK;
}

static void docs_free(Docs *d) {
    for (int i = 0; i < d->count; i++) free(d->texts[i]), free(d->names[i]);
    free(d->texts), free(d->names), free(d->lengths), free(d->source);
    memset(d, 0, sizeof *d);
}

/* Adds a converted text as one document, or as pieces of about DEBIAN_PIECE bytes cut after
 * a blank line (a line end when there is none) when it is over DEBIAN_PIECE_MAX. */
static int add_text(Docs *d, char *text, size_t length, const char *name, int source) {
    if (length <= DEBIAN_PIECE_MAX) return docs_add(d, text, length, name, source);
    int rc = OK;
    char piece_name[PATH_BYTES + 32];
    for (size_t at = 0; at < length && !rc;) {
        size_t end = length - at <= DEBIAN_PIECE_MAX ? length : at + DEBIAN_PIECE, cut = 0;
        for (size_t k = end; end < length && k > at + DEBIAN_PIECE / 2 && !cut; k--)
            if (text[k - 1] == '\n' && k >= 2 && text[k - 2] == '\n') cut = k;
        for (size_t k = end; end < length && k > at + DEBIAN_PIECE / 2 && !cut; k--)
            if (text[k - 1] == '\n') cut = k;
        if (cut) end = cut;
        char *copy = malloc(end - at + 1);
        if (!copy) {
            rc = error_set(ERR_FAILURE, "out of memory");
            break;
        }
        memcpy(copy, text + at, end - at);
        snprintf(piece_name, sizeof piece_name, "%s@%zu", name, at);
        rc = docs_add(d, copy, end - at, piece_name, source);
        if (rc) free(copy);
        at = end;
    }
    free(text);
    return rc;
}

/* Reads one source's converted texts (its names.txt and NNNNNN.txt), then strips its
 * boilerplate and drops its short documents. */
static int load_source(const Plan *p, int source, Docs *d, CorpusSource *record) {
    char path[PATH_BYTES + 16], *names;
    size_t names_bytes;
    snprintf(path, sizeof path, "%s/names.txt", p->dir);
    int rc = read_file(path, &names, &names_bytes);
    if (rc) return rc;
    int first = d->count, index = 0;
    for (char *line = names, *end; !rc && (end = strchr(line, '\n')); line = end + 1, index++) {
        *end = 0;
        char *text;
        size_t bytes;
        doc_path(path, sizeof path, p->dir, index);
        rc = read_file_max(path, CONVERTED_MAX, &text, &bytes);
        char name[PATH_BYTES + 64];
        snprintf(name, sizeof name, "%s:%s", p->source->name, line);
        if (!rc) rc = add_text(d, text, bytes, name, source);
    }
    free(names);
    record->files = index;
    int dropped_lines = 0;
    if (!rc) rc = boilerplate_strip(d->texts + first, d->lengths + first, d->count - first, &dropped_lines);
    /* short documents go (stubs, pages that were all navigation) */
    int kept = first;
    for (int i = first; !rc && i < d->count; i++) {
        if (d->lengths[i] < DEBIAN_MIN_DOC) {
            free(d->texts[i]), free(d->names[i]);
            record->dropped_short++;
            continue;
        }
        d->texts[kept] = d->texts[i], d->names[kept] = d->names[i], d->lengths[kept] = d->lengths[i];
        d->source[kept++] = d->source[i];
    }
    if (!rc) d->count = kept;
    return rc;
}

/* Whether the comma-separated list holds the name name[0..n). */
static int list_has(const char *list, const char *name, size_t n) {
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t length = comma ? (size_t)(comma - p) : strlen(p);
        if (length == n && !strncmp(p, name, n)) return 1;
        p += length + (comma != NULL);
    }
    return 0;
}

static int selected(const char *only, const char *name) { return !only || list_has(only, name, strlen(name)); }

/* ERR_INPUT naming an entry of the list that is no source (an empty one included). */
static int check_only(const char *only) {
    if (!only) return OK;
    for (const char *p = only;; p++) {
        const char *comma = strchr(p, ',');
        size_t length = comma ? (size_t)(comma - p) : strlen(p);
        int known = 0;
        for (int i = 0; i < N_SOURCES; i++) known |= list_has(SOURCES[i].name, p, length);
        if (!known) return error_set(ERR_INPUT, "unknown debian source '%.*s' (docs/guide.md lists them)", (int)length, p);
        if (!comma) return OK;
        p = comma;
    }
}

/* The corpus from the documents kept: in source order, held out within each source. */
static int build_corpus(Corpus *c, const Docs *d, const unsigned char *dropped, CorpusSource *records, int n_sources) {
    size_t capacity = 0;
    int kept = 0, rc = OK;
    for (int i = 0; i < d->count; i++) kept += !dropped[i];
    c->doc_source = malloc((size_t)(kept ? kept : 1) * sizeof *c->doc_source);
    c->held_out = malloc((size_t)(kept ? kept : 1));
    if (!c->doc_source || !c->held_out) return error_set(ERR_FAILURE, "out of memory");
    uint64_t fingerprint = checksum_bytes("debian", 7);
    for (int i = 0; i < d->count && !rc; i++) {
        if (dropped[i]) continue;
        c->doc_source[c->count] = d->source[i];
        rc = corpus_add_document(c, &capacity, d->texts[i], d->lengths[i], d->names[i]);
        if (rc) break;
        unsigned char s[4];
        store_u32(s, (uint32_t)d->source[i]);
        fingerprint = checksum_update(fingerprint, s, sizeof s);
        fingerprint = checksum_update(fingerprint, c->text + c->starts[c->count - 1], c->lengths[c->count - 1]);
    }
    if (rc) return rc;
    /* rank of each document within its source, and the source's size */
    int *size = calloc((size_t)n_sources, sizeof *size), *rank = calloc((size_t)n_sources, sizeof *rank);
    if (!size || !rank) rc = error_set(ERR_FAILURE, "out of memory");
    for (int i = 0; !rc && i < c->count; i++) size[c->doc_source[i]]++;
    for (int i = 0; !rc && i < c->count; i++) {
        int s = c->doc_source[i];
        c->held_out[i] = size[s] >= 2 && corpus_held_out(rank[s]++, size[s]);
    }
    free(size), free(rank);
    c->sources = records;
    c->n_sources = n_sources;
    c->fingerprint = fingerprint;
    return rc;
}

int debian_identity(const char *root, uint64_t *hash) {
    /* the installed tree's, asked once a process: an experiment file asks it for every run */
    static int known;
    static uint64_t known_hash;
    int system = !root || !root[0];
    if (system && known) {
        *hash = known_hash;
        return OK;
    }
    Package packages[128];
    int n = 0, rc = check_packages(root ? root : "", packages, &n);
    if (rc) return rc;
    unsigned char format[4];
    store_u32(format, DEBIAN_FORMAT);
    uint64_t h = checksum_bytes(format, sizeof format);
    for (int i = 0; i < n; i++) {
        h = checksum_update(h, packages[i].name, strlen(packages[i].name) + 1);
        h = checksum_update(h, packages[i].version, strlen(packages[i].version) + 1);
    }
    if (system) known = 1, known_hash = h;
    *hash = h;
    return OK;
}

int debian_corpus_read(Corpus *c, const DebianOptions *o, FILE *log) {
    memset(c, 0, sizeof *c);
    const char *root = o->root ? o->root : "", *work = o->work_dir ? o->work_dir : DEBIAN_WORK_DIR;
    int threads = o->threads > 0 ? o->threads : 2;
    Package packages[128];
    int n_packages = 0, rc = check_only(o->only);
    if (!rc) rc = check_packages(root, packages, &n_packages);
    if (rc) return rc;
    Plan plans[N_SOURCES];
    memset(plans, 0, sizeof plans);
    int n_plans = 0;
    Overall all = {0};
    for (int i = 0; i < N_SOURCES && !rc; i++) {
        if (!selected(o->only, SOURCES[i].name)) continue;
        Plan *p = &plans[n_plans++];
        p->source = &SOURCES[i];
        char names[512];
        snprintf(names, sizeof names, "%s", SOURCES[i].packages);
        size_t at = 0;
        for (char *save, *w = strtok_r(names, " ", &save); w; w = strtok_r(NULL, " ", &save))
            at += (size_t)snprintf(p->packages + at, sizeof p->packages - at, "%s%s %s", at ? ", " : "", w,
                                   version_of(packages, n_packages, w));
        /* the folder is keyed by what decides its texts: the versions and the converter */
        uint64_t key = checksum_bytes(p->packages, strlen(p->packages));
        const char *command = COMMANDS[SOURCES[i].convert] ? COMMANDS[SOURCES[i].convert] : "kjv";
        key = checksum_update(key, command, strlen(command));
        unsigned char format[4];
        store_u32(format, DEBIAN_FORMAT);
        key = checksum_update(key, format, sizeof format);
        snprintf(p->dir, sizeof p->dir, "%s/%s-%016llx", work, SOURCES[i].name, (unsigned long long)key);
        char marker[PATH_BYTES + 16];
        snprintf(marker, sizeof marker, "%s/names.txt", p->dir);
        p->done = file_exists(marker);
        if (SOURCES[i].convert == CONVERT_KJV) p->n_files = 66;
        else if (!p->done) rc = list_files(root, p);
        if (!p->done) all.total += p->n_files;
    }
    if (!rc && all.total) {   /* progress on stderr only when there is a log */
        if (log) fprintf(log, "meki data: converting %d files to text in %s (resumable)\n", all.total, work);
        progress_begin_after(&all.progress, "converting", all.total, log ? 0 : 1e30);
    }
    for (int i = 0; i < n_plans && !rc; i++)
        if (!plans[i].done) rc = convert_source(&plans[i], root, threads, &all, log);
    if (all.total) progress_end(&all.progress);
    Docs d = {0};
    CorpusSource *records = calloc((size_t)(n_plans ? n_plans : 1), sizeof *records);
    if (!rc && !records) rc = error_set(ERR_FAILURE, "out of memory");
    for (int i = 0; i < n_plans && !rc; i++) {
        records[i].name = strdup(plans[i].source->name);
        records[i].packages = strdup(plans[i].packages);
        if (!records[i].name || !records[i].packages) rc = error_set(ERR_FAILURE, "out of memory");
        if (!rc) rc = load_source(&plans[i], i, &d, &records[i]);
    }
    for (int i = 0; i < n_plans; i++) {
        for (int k = 0; k < plans[i].n_files && plans[i].files; k++) free(plans[i].files[k]);
        free(plans[i].files);
    }
    unsigned char *dropped = malloc((size_t)(d.count ? d.count : 1));
    DedupStats stats = {0};
    if (!rc && !dropped) rc = error_set(ERR_FAILURE, "out of memory");
    if (!rc) {
        if (log) fprintf(log, "meki data: finding duplicates among %d documents\n", d.count);
        rc = dedup_documents((const char *const *)d.texts, d.lengths, d.count, dropped, &stats);
    }
    for (int i = 0; !rc && i < d.count; i++) {
        records[d.source[i]].dropped_exact += dropped[i] == DEDUP_EXACT;
        records[d.source[i]].dropped_near += dropped[i] == DEDUP_NEAR_COPY;
    }
    if (!rc) {
        if (log) fprintf(log, "meki data: dropped %d exact and %d near duplicates\n", stats.exact, stats.near);
        rc = build_corpus(c, &d, dropped, records, n_plans);
        if (!rc) records = NULL;   /* the corpus owns them */
    }
    if (records) {
        for (int i = 0; i < n_plans; i++) free(records[i].name), free(records[i].packages);
        free(records);
    }
    free(dropped);
    docs_free(&d);
    if (!rc && c->count < 2) rc = error_set(ERR_INPUT, "the debian corpus holds %d document(s); a split needs two", c->count);
    if (rc) corpus_free(c);
    return rc;
}
