#include "util/fileio.h"
#include "util/error.h"
#include <dirent.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { STALE_SECONDS = 3600, TEMP_ATTEMPTS = 32 };

int temp_name(char *out, size_t size, const char *path) {
    static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    static unsigned counter;
    unsigned char r[10];
    if (getrandom(r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        /* no entropy yet: still distinct per call, and O_EXCL catches any clash */
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        uint64_t x = (uint64_t)t.tv_nsec * 0x9E3779B97F4A7C15ULL ^ (uint64_t)t.tv_sec ^ ++counter;
        for (size_t i = 0; i < sizeof r; i++, x = x * 6364136223846793005ULL + 1442695040888963407ULL)
            r[i] = (unsigned char)(x >> 56);
    }
    char suffix[sizeof r + 1];
    for (size_t i = 0; i < sizeof r; i++) suffix[i] = letters[r[i] % (sizeof letters - 1)];
    suffix[sizeof r] = 0;
    int n = snprintf(out, size, "%s.tmp.%d.%s", path, (int)getpid(), suffix);
    if (n < 0 || (size_t)n >= size) return error_set(ERR_INPUT, "path too long: %s", path);
    return OK;
}

int remove_flat_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char path[4096];
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    return rmdir(dir) == 0 ? OK : ERR_FAILURE;
}

/* Whether name is prefix ".tmp." pid ["." anything] of a process gone (or an hour old). */
static int stale_temp(const char *dir, const char *name, const char *base, size_t base_length) {
    if (strncmp(name, base, base_length) || strncmp(name + base_length, ".tmp.", 5)) return 0;
    const char *p = name + base_length + 5;
    char *end;
    errno = 0;
    long pid = strtol(p, &end, 10);
    if (end == p || errno || pid <= 0 || (*end && *end != '.')) return 0;
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (lstat(path, &st) != 0) return 0;
    int alive = pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno == EPERM;
    /* a pid can be reused: a temporary untouched for an hour is abandoned anyway */
    return !alive || time(NULL) - st.st_mtime > STALE_SECONDS;
}

void remove_stale_temps(const char *path) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    const char *base = path;
    if (slash) {
        base = path + (slash - dir) + 1;
        if (slash == dir) slash[1] = 0;
        else *slash = 0;
    } else {
        snprintf(dir, sizeof dir, ".");
    }
    size_t base_length = strlen(base);
    if (!base_length) return;
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char victim[8192];
    while ((e = readdir(d))) {
        if (!stale_temp(dir, e->d_name, base, base_length)) continue;
        snprintf(victim, sizeof victim, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(victim, &st) == 0 && S_ISDIR(st.st_mode)) remove_flat_dir(victim);
        else unlink(victim);
    }
    closedir(d);
}

static const char *file_kind(mode_t mode);

int check_output_file(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0 || S_ISREG(st.st_mode)) return OK;
    return error_set(ERR_INPUT, "%s is %s, not a regular file: not replacing it", path, file_kind(st.st_mode));
}

/* Names for a folder beside target: <target>.tmp.<pid>.<random> while written, and
 * <target>.old.tmp.<pid>.<random> for the folder it replaces when the two cannot be swapped. */
static int aside_name(char *out, size_t size, const char *target) {
    char base[4200];
    int n = snprintf(base, sizeof base, "%s.old", target);
    if (n < 0 || (size_t)n >= sizeof base) return error_set(ERR_INPUT, "path too long: %s", target);
    return temp_name(out, size, base);
}

/* A folder moved aside by a replace that was killed before the new one went in: put back
 * when the target is missing (it is the earlier result), else removed. */
static void restore_stale_aside(const char *target) {
    char dir[4096], base[4200];
    snprintf(dir, sizeof dir, "%s", target);
    char *slash = strrchr(dir, '/');
    const char *name = slash ? target + (slash - dir) + 1 : target;
    if (slash) { if (slash == dir) slash[1] = 0; else *slash = 0; }
    else snprintf(dir, sizeof dir, ".");
    snprintf(base, sizeof base, "%s.old", name);
    size_t base_length = strlen(base);
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char victim[8400];
    struct stat st;
    while ((e = readdir(d))) {
        if (!stale_temp(dir, e->d_name, base, base_length)) continue;
        snprintf(victim, sizeof victim, "%s/%s", dir, e->d_name);
        if (lstat(victim, &st) != 0 || !S_ISDIR(st.st_mode)) { unlink(victim); continue; }
        if (lstat(target, &st) != 0 && errno == ENOENT && rename(victim, target) == 0)
            fprintf(stderr, "note: %s was restored from %s, left by an interrupted replace\n", target, victim);
        else
            remove_flat_dir(victim);
    }
    closedir(d);
}

int temp_dir_create(char *temp, size_t size, const char *target) {
    int rc = make_parent_dirs(target);   /* --out export/small in a fresh checkout */
    if (rc) return rc;
    restore_stale_aside(target);
    remove_stale_temps(target);
    for (int attempt = 0; attempt < TEMP_ATTEMPTS; attempt++) {
        if (temp_name(temp, size, target)) return ERR_INPUT;
        /* mkdir never follows a symlink planted under the name: it fails with EEXIST */
        if (mkdir(temp, 0755) == 0) return OK;
        if (errno != EEXIST) break;
    }
    return error_set(ERR_FAILURE, "cannot create %s: %s", temp, strerror(errno));
}

int dir_install(const char *temp, const char *target) {
    if (rename(temp, target) == 0) return OK;
    if (errno != ENOTEMPTY && errno != EEXIST)
        return error_set(ERR_FAILURE, "cannot rename %s to %s: %s", temp, target, strerror(errno));
    /* one atomic swap: a kill at any point leaves the old folder or the new one at target,
     * and the other under the temporary name, removed as stale by the next writer */
    if (renameat2(AT_FDCWD, temp, AT_FDCWD, target, RENAME_EXCHANGE) == 0) {
        remove_flat_dir(temp);   /* now the old folder */
        return OK;
    }
    char old[4300];   /* no RENAME_EXCHANGE (older kernel, some file systems): move aside */
    if (aside_name(old, sizeof old, target) || rename(target, old) != 0)
        return error_set(ERR_FAILURE, "cannot replace %s: %s", target, strerror(errno));
    if (rename(temp, target) != 0) {
        int saved = errno;
        rename(old, target);
        return error_set(ERR_FAILURE, "cannot rename %s to %s: %s", temp, target, strerror(saved));
    }
    remove_flat_dir(old);
    return OK;
}

int atomic_open(AtomicFile *af, const char *path) {
    memset(af, 0, sizeof *af);
    snprintf(af->path, sizeof af->path, "%s", path);
    /* the rename at commit would replace a FIFO or a device node (as root, /dev/null) */
    if (check_output_file(path)) return ERR_INPUT;
    remove_stale_temps(path);
    int fd = -1;
    for (int attempt = 0; fd < 0 && attempt < TEMP_ATTEMPTS; attempt++) {
        if (temp_name(af->temp_path, sizeof af->temp_path, path)) return ERR_FAILURE;
        /* O_EXCL | O_NOFOLLOW: a file or symlink planted under the name is never written */
        fd = open(af->temp_path, O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) {
        int saved = errno;
        char tried[4096];
        snprintf(tried, sizeof tried, "%s", af->temp_path);
        af->temp_path[0] = 0;   /* not ours: atomic_abort must not remove it */
        return error_set(ERR_FAILURE, "cannot write %s: %s", tried, strerror(saved));
    }
    af->file = fdopen(fd, "wb");
    if (!af->file) {
        int saved = errno;
        close(fd);
        unlink(af->temp_path);
        return error_set(ERR_FAILURE, "cannot write %s: %s", af->temp_path, strerror(saved));
    }
    return OK;
}

int atomic_write(AtomicFile *af, const void *data, size_t bytes) {
    if (af->failed) return ERR_FAILURE;
    if (bytes && fwrite(data, 1, bytes, af->file) != bytes) {
        af->failed = 1;
        return error_set(ERR_FAILURE, "write to %s failed: %s", af->path, strerror(errno));
    }
    return OK;
}

int atomic_commit(AtomicFile *af) {
    int failed = af->failed || fflush(af->file) != 0 || fsync(fileno(af->file)) != 0;
    int saved = errno;
    if (fclose(af->file) != 0) failed = 1;
    af->file = NULL;
    if (failed) {
        unlink(af->temp_path);
        return error_set(ERR_FAILURE, "write to %s failed: %s", af->path, strerror(saved));
    }
    if (rename(af->temp_path, af->path) != 0) {
        saved = errno;
        unlink(af->temp_path);
        return error_set(ERR_FAILURE, "cannot rename into %s: %s", af->path, strerror(saved));
    }
    return OK;
}

void atomic_abort(AtomicFile *af) {
    if (af->file) fclose(af->file);
    af->file = NULL;
    if (af->temp_path[0]) unlink(af->temp_path);
}

static const char *file_kind(mode_t mode) {
    if (S_ISDIR(mode)) return "a folder";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a regular file";
}

int open_input(const char *path, const char *what, int *fd, long long *size) {
    const char *space = what ? " " : "";
    if (!what) what = "";
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it */
    *fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (*fd < 0) return error_set(ERR_INPUT, "cannot open %s%s%s: %s", what, space, path, strerror(errno));
    struct stat st;
    if (fstat(*fd, &st) != 0) {
        int saved = errno;
        close(*fd);
        *fd = -1;
        return error_set(ERR_INPUT, "cannot stat %s%s%s: %s", what, space, path, strerror(saved));
    }
    if (!S_ISREG(st.st_mode)) {
        close(*fd);
        *fd = -1;
        return error_set(ERR_INPUT, "%s%s%s is %s, not a regular file", what, space, path,
                         file_kind(st.st_mode));
    }
    int flags = fcntl(*fd, F_GETFL);
    if (flags >= 0) fcntl(*fd, F_SETFL, flags & ~O_NONBLOCK);
    *size = (long long)st.st_size;
    return OK;
}

int read_file_max(const char *path, long long max_bytes, char **data, size_t *bytes) {
    int fd;
    long long size;
    int rc = open_input(path, NULL, &fd, &size);
    if (rc) return rc;
    if (max_bytes <= 0) max_bytes = READ_FILE_MAX;
    if (size > max_bytes) {
        close(fd);
        return error_set(ERR_INPUT, "%s is %lld bytes, more than the %lld allowed for it", path, size,
                         max_bytes);
    }
    char *buf = malloc((size_t)size + 1);
    if (!buf) {
        close(fd);
        return error_set(ERR_FAILURE, "out of memory reading %s (%lld bytes)", path, size);
    }
    size_t got = 0;
    while (got < (size_t)size) {
        ssize_t n = read(fd, buf + got, (size_t)size - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fd);
    if (got != (size_t)size) {
        free(buf);
        return error_set(ERR_INPUT, "cannot read %s (got %zu of %lld bytes)", path, got, size);
    }
    buf[size] = 0;
    *data = buf;
    *bytes = (size_t)size;
    return OK;
}

int read_file(const char *path, char **data, size_t *bytes) {
    return read_file_max(path, 0, data, bytes);
}

int path_join(char *out, size_t size, const char *dir, const char *name) {
    int n = snprintf(out, size, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= size)
        return error_set(ERR_INPUT, "path too long (%zu bytes, at most %zu): %s/%s", strlen(dir) + 1 + strlen(name),
                         size - 1, dir, name);
    return OK;
}

int make_dirs(const char *path) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return error_set(ERR_FAILURE, "cannot create %s: %s", tmp, strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return error_set(ERR_FAILURE, "cannot create %s: %s", tmp, strerror(errno));
    return OK;
}

int make_parent_dirs(const char *path) {
    char parent[4096];
    snprintf(parent, sizeof parent, "%s", path);
    for (size_t len = strlen(parent); len > 1 && parent[len - 1] == '/'; len--) parent[len - 1] = 0;
    char *slash = strrchr(parent, '/');
    if (!slash || slash == parent) return OK;   /* the working folder or / */
    *slash = 0;
    return make_dirs(parent);
}

int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

long long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}
