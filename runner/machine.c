#include "runner/machine.h"
#include <cblas.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void machine_host(char *out, int size) {
    if (gethostname(out, (size_t)size) != 0 || !out[0]) snprintf(out, (size_t)size, "unknown");
    out[size - 1] = 0;
}

void machine_cpu_model(char *out, int size) {
    char line[512];
    snprintf(out, (size_t)size, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) != 0 || !colon) continue;
        colon++;
        while (*colon == ' ' || *colon == '\t') colon++;
        colon[strcspn(colon, "\n")] = 0;
        snprintf(out, (size_t)size, "%s", colon);
        break;
    }
    fclose(f);
}

int machine_cores(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

void machine_openblas(char *out, int size) {
    const char *config = openblas_get_config();
    snprintf(out, (size_t)size, "%s", config ? config : "unknown");
    size_t n = strlen(out);
    while (n && out[n - 1] == ' ') out[--n] = 0;
}

/* First line of a shell command's output; 0 if the command failed or printed nothing. */
static int command_line(const char *command, char *out, int size) {
    FILE *p = popen(command, "r");
    if (!p) return 0;
    out[0] = 0;
    int got = fgets(out, size, p) != NULL;
    int status = pclose(p);
    out[strcspn(out, "\n")] = 0;
    return got && status == 0 && out[0];
}

void machine_git_revision(char *out, int size) {
    char revision[128], change[256];
    /* stdin from /dev/null: git must never wait on a terminal inside a sweep */
    if (!command_line("git rev-parse HEAD 2>/dev/null </dev/null", revision, sizeof revision)) {
        snprintf(out, (size_t)size, "unknown");
        return;
    }
    int dirty = command_line("git status --porcelain --untracked-files=no 2>/dev/null </dev/null", change,
                             sizeof change);
    snprintf(out, (size_t)size, "%s%s", revision, dirty ? "-dirty" : "");
}
