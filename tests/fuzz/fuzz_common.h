/* Shared by the libFuzzer targets (tests/fuzz/fuzz_*.c, built by `make fuzz`): the parsers
 * take paths, so each input is written to a file of this process, reused between inputs.
 * The folder is on tmpfs (/dev/shm) when present, so the many small writes stay off the disk. */
#ifndef TESTS_FUZZ_COMMON_H
#define TESTS_FUZZ_COMMON_H
#include "data/checksum.h"
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Where targets put what they read, so the reads cannot be optimised away. */
__attribute__((unused)) static volatile float fuzz_sink;

/* A folder of this process (created once, removed at exit): $TMPDIR, /dev/shm or /tmp. */
static char fuzz_dir_path[512];

__attribute__((unused)) static void fuzz_remove_dir(void) {
    char command[600];
    if (!fuzz_dir_path[0]) return;
    snprintf(command, sizeof command, "rm -rf '%s'", fuzz_dir_path);
    if (system(command)) {}
}

__attribute__((unused)) static const char *fuzz_dir(void) {
    if (fuzz_dir_path[0]) return fuzz_dir_path;
    const char *base = getenv("TMPDIR");
    struct stat sb;
    if (!base || !*base) base = stat("/dev/shm", &sb) == 0 && access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(fuzz_dir_path, sizeof fuzz_dir_path, "%s/meki-fuzz-%d", base, (int)getpid());
    mkdir(fuzz_dir_path, 0700);
    atexit(fuzz_remove_dir);
    return fuzz_dir_path;
}

/* out receives dir/name; the bytes are written there (replacing any earlier content). */
__attribute__((unused)) static void fuzz_write_file(char *out, size_t size, const char *name, const uint8_t *data, size_t bytes) {
    snprintf(out, size, "%s/%s", fuzz_dir(), name);
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) { perror(out); abort(); }
    for (size_t done = 0; done < bytes;) {
        ssize_t n = write(fd, data + done, bytes - done);
        if (n <= 0) { perror(out); abort(); }
        done += (size_t)n;
    }
    close(fd);
}

/* Splits data at NUL bytes into at most max words (copied into one NUL-terminated buffer
 * that the caller frees); returns the count. */
__attribute__((unused)) static int fuzz_split_words(const uint8_t *data, size_t bytes, char **words, int max, char **buffer) {
    *buffer = malloc(bytes + 1);
    if (!*buffer) abort();
    memcpy(*buffer, data, bytes);
    (*buffer)[bytes] = 0;
    int n = 0;
    for (size_t at = 0; at <= bytes && n < max;) {
        words[n++] = *buffer + at;
        at += strlen(*buffer + at) + 1;
    }
    return n;
}
/* A tokenizer.bin's checksum (bytes 24..31, over the rest) recomputed in place, so that a
 * mutated file reaches the parser's later checks instead of failing the sum; size >= 32. */
__attribute__((unused)) static void fuzz_fix_tokenizer_checksum(uint8_t *bytes, size_t size) {
    uint64_t sum = checksum_update(checksum_update(CHECKSUM_SEED, bytes, 24), bytes + 32, size - 32);
    for (int i = 0; i < 8; i++) bytes[24 + i] = (uint8_t)(sum >> 8 * i);
}
#endif
