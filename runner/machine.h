/* Facts about where a run ran, recorded beside its results. */
#ifndef RUNNER_MACHINE_H
#define RUNNER_MACHINE_H

void machine_host(char *out, int size);
void machine_cpu_model(char *out, int size);          /* /proc/cpuinfo "model name" */
int machine_cores(void);
void machine_openblas(char *out, int size);           /* openblas_get_config() */
/* git rev-parse HEAD of the working directory, "-dirty" appended when tracked files are
 * modified, "unknown" outside a git checkout. */
void machine_git_revision(char *out, int size);
#endif
