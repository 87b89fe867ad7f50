/* Corpus inputs (files, directories, @lists) expanded into the list of files to read. */
#include "data/corpus.h"
#include "util/error.h"
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>

static int out_of_memory(void) { return error_set(ERR_FAILURE, "out of memory listing the corpus"); }

typedef struct {
    char **items;
    int count, capacity;
} FileList;

/* Directories already walked, by (device, inode): a link back up (/proc/1/root is "/") or
 * two inputs naming one folder must not walk it again. Open addressing, power-of-two size. */
typedef struct {
    dev_t *dev;
    ino_t *ino;
    unsigned char *used;
    size_t count, capacity;
} DirSet;

typedef struct {
    FileList files;
    DirSet seen;
    const char *root;   /* the real path of the folder named as input, while it is walked */
} Walk;

static int list_add(FileList *l, const char *path) {
    if (l->count == l->capacity) {
        int cap = l->capacity ? l->capacity * 2 : 64;
        char **bigger = realloc(l->items, (size_t)cap * sizeof *bigger);
        if (!bigger) return out_of_memory();
        l->items = bigger;
        l->capacity = cap;
    }
    if (!(l->items[l->count] = strdup(path))) return out_of_memory();
    l->count++;
    return OK;
}

/* A corpus file: the cap applies to these, not to a folder's list of entry names. */
static int file_add(Walk *w, const char *path) {
    if (w->files.count >= CORPUS_MAX_FILES)
        return error_set(ERR_INPUT, "the corpus inputs hold more than %d files (at %s); name a "
                         "narrower folder or an @list file", CORPUS_MAX_FILES, path);
    return list_add(&w->files, path);
}

void corpus_files_free(char **files, int n_files) {
    for (int i = 0; i < n_files; i++) free(files[i]);
    free(files);
}

static size_t slot_of(const DirSet *s, dev_t dev, ino_t ino) {
    uint64_t h = ((uint64_t)dev * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)ino * 0xff51afd7ed558ccdULL);
    size_t i = (size_t)(h ^ (h >> 29)) & (s->capacity - 1);
    while (s->used[i] && !(s->dev[i] == dev && s->ino[i] == ino)) i = (i + 1) & (s->capacity - 1);
    return i;
}

/* 1 if (dev, ino) was new and is now recorded, 0 if seen before, -1 out of memory. */
static int dirset_add(DirSet *s, dev_t dev, ino_t ino) {
    if (2 * (s->count + 1) > s->capacity) {
        DirSet big = {0};
        big.capacity = s->capacity ? 2 * s->capacity : 256;
        big.dev = malloc(big.capacity * sizeof *big.dev);
        big.ino = malloc(big.capacity * sizeof *big.ino);
        big.used = calloc(big.capacity, 1);
        if (!big.dev || !big.ino || !big.used) {
            free(big.dev), free(big.ino), free(big.used);
            return -1;
        }
        for (size_t i = 0; i < s->capacity; i++)
            if (s->used[i]) {
                size_t j = slot_of(&big, s->dev[i], s->ino[i]);
                big.used[j] = 1, big.dev[j] = s->dev[i], big.ino[j] = s->ino[i];
            }
        big.count = s->count;
        free(s->dev), free(s->ino), free(s->used);
        *s = big;
    }
    size_t i = slot_of(s, dev, ino);
    if (s->used[i]) return 0;
    s->used[i] = 1, s->dev[i] = dev, s->ino[i] = ino, s->count++;
    return 1;
}

/* Kernel pseudo file systems hold no text, and /proc and /sys are full of links back up. */
static int pseudo_fs(const char *dir) {
    struct statfs fs;
    if (statfs(dir, &fs) != 0) return 0;
    switch ((unsigned long)fs.f_type) {
    case 0x9fa0:        /* proc */
    case 0x62656572:    /* sysfs */
    case 0x64626720:    /* debugfs */
    case 0x74726163:    /* tracefs */
    case 0x73636673:    /* securityfs */
    case 0x27e0eb:      /* cgroup */
    case 0x63677270:    /* cgroup2 */
    case 0x1cd1:        /* devpts */
    case 0xcafe4a11:    /* bpf */
        return 1;
    default: return 0;
    }
}

/* A linked folder is walked only when it lies inside the input folder: a link up (`up -> ..`)
 * brought files from outside the folder into the corpus. */
static int link_stays_inside(const Walk *w, const char *path) {
    char *target = realpath(path, NULL);
    size_t n = w->root ? strlen(w->root) : 0;
    int inside = target && n && !strncmp(target, w->root, n) &&
                 (target[n] == '/' || (n == 1 && target[0] == '/' && target[1]));
    free(target);
    return inside;
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends the regular files under dir, sorted by name at each level; a folder already
 * walked (a link loop, or the same folder twice) adds nothing. */
static int expand_dir(Walk *w, const char *dir, const struct stat *st, int depth) {
    if (depth > 64) return error_set(ERR_INPUT, "corpus directory %s nests deeper than 64 folders", dir);
    int fresh = dirset_add(&w->seen, st->st_dev, st->st_ino);
    if (fresh < 0) return out_of_memory();
    if (!fresh || (depth > 0 && pseudo_fs(dir))) return OK;
    DIR *d = opendir(dir);
    if (!d) return error_set(ERR_INPUT, "cannot open corpus directory %s: %s", dir, strerror(errno));
    FileList names = {0};
    struct dirent *e;
    int rc = OK;
    while (!rc && (e = readdir(d)))
        if (e->d_name[0] != '.') rc = list_add(&names, e->d_name);
    closedir(d);
    if (!rc && names.count > 1)   /* an empty folder has no list: qsort must not see NULL */
        qsort(names.items, (size_t)names.count, sizeof *names.items, by_name);
    size_t dir_length = strlen(dir);
    while (dir_length > 1 && dir[dir_length - 1] == '/') dir_length--;
    if (dir_length == 1 && dir[0] == '/') dir_length = 0;   /* "/" + "usr", not "//usr" */
    for (int i = 0; i < names.count && !rc; i++) {
        size_t length = dir_length + 1 + strlen(names.items[i]) + 1;
        char *path = malloc(length);
        if (!path) {
            rc = out_of_memory();
            break;
        }
        snprintf(path, length, "%.*s/%s", (int)dir_length, dir, names.items[i]);
        struct stat child, link;
        if (stat(path, &child) != 0) rc = OK;   /* vanished or a dangling link: not a file */
        else if (S_ISDIR(child.st_mode)) {
            if (lstat(path, &link) != 0 || !S_ISLNK(link.st_mode) || link_stays_inside(w, path))
                rc = expand_dir(w, path, &child, depth + 1);
        }
        else if (S_ISREG(child.st_mode)) rc = file_add(w, path);
        free(path);
    }
    corpus_files_free(names.items, names.count);
    return rc;
}

/* One input (where names it for errors: "" or "LIST:LINE: "). */
static int expand_one(Walk *w, const char *input, const char *where, int depth);

static int expand_list(Walk *w, const char *list, int depth) {
    if (depth > 16) return error_set(ERR_INPUT, "list file %s nests @lists too deep", list);
    FILE *f = fopen(list, "r");
    if (!f) return error_set(ERR_INPUT, "cannot open list file %s: %s", list, strerror(errno));
    const char *slash = strrchr(list, '/');
    int folder_length = slash ? (int)(slash - list) + 1 : 0;   /* with its slash */
    char *line = NULL, where[4200];
    size_t line_capacity = 0;
    ssize_t got;
    int rc = OK, number = 0, before = w->files.count;
    while (!rc && (got = getline(&line, &line_capacity, f)) >= 0) {
        number++;
        char *p = line, *end = line + got;
        while (end > p && isspace((unsigned char)end[-1])) end--;
        while (p < end && isspace((unsigned char)*p)) p++;
        *end = 0;
        if (!*p || *p == '#') continue;
        snprintf(where, sizeof where, "%s:%d: ", list, number);
        int at = *p == '@';
        size_t length = (size_t)folder_length + strlen(p) + 1;
        char *path = malloc(length);
        if (!path) {
            rc = out_of_memory();
            break;
        }
        if (p[at] == '/' || !folder_length) snprintf(path, length, "%s%s", at ? "@" : "", p);
        else snprintf(path, length, "%s%.*s%s", at ? "@" : "", folder_length, list, p + at);
        rc = expand_one(w, path, where, depth + 1);
        free(path);
    }
    free(line);
    fclose(f);
    if (!rc && w->files.count == before) rc = error_set(ERR_INPUT, "list file %s names no files", list);
    return rc;
}

static int expand_one(Walk *w, const char *input, const char *where, int depth) {
    if (input[0] == '@') return expand_list(w, input + 1, depth);
    struct stat st;
    if (!input[0]) return error_set(ERR_INPUT, "%san empty corpus path", where);
    if (stat(input, &st) != 0)
        return error_set(ERR_INPUT, "%scannot find corpus input %s: %s", where, input, strerror(errno));
    if (S_ISREG(st.st_mode)) return file_add(w, input);
    if (!S_ISDIR(st.st_mode))   /* reading a FIFO or a device would block or never end */
        return error_set(ERR_INPUT, "%scorpus input %s is a %s, neither a file nor a directory", where, input,
                         S_ISFIFO(st.st_mode) ? "FIFO" : S_ISSOCK(st.st_mode) ? "socket" : "device");
    if (pseudo_fs(input))
        return error_set(ERR_INPUT, "%scorpus directory %s is on a kernel pseudo file system", where, input);
    char *root = realpath(input, NULL);
    if (!root) return error_set(ERR_INPUT, "%scorpus directory %s: %s", where, input, strerror(errno));
    w->root = root;
    int before = w->files.count, rc = expand_dir(w, input, &st, 0);
    w->root = NULL;
    free(root);
    if (!rc && w->files.count == before)
        rc = error_set(ERR_INPUT, "%scorpus directory %s holds no files (hidden ones are skipped, "
                       "a folder already listed is not read twice, and a link to a folder outside it is not "
                       "followed)", where, input);
    return rc;
}

int corpus_expand(const char *const *inputs, int n_inputs, char ***files, int *n_files) {
    Walk w = {0};
    int rc = OK;
    for (int i = 0; i < n_inputs && !rc; i++) rc = expand_one(&w, inputs[i] ? inputs[i] : "", "", 0);
    free(w.seen.dev), free(w.seen.ino), free(w.seen.used);
    if (rc) {
        corpus_files_free(w.files.items, w.files.count);
        *files = NULL;
        *n_files = 0;
        return rc;
    }
    *files = w.files.items;
    *n_files = w.files.count;
    return OK;
}
