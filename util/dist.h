/* Processes working together (MPI), behind plain functions. MPI is loaded (dlopen of
 * OpenMPI's libmpi) and initialised only when the process was started by a launcher
 * (mpirun, srun): a plain ./meki never loads it and every call below is then the
 * one-process identity (rank 0 of 1; reductions and broadcasts leave the data as it is).
 * Errors return ERR_FAILURE with a message; a failed collective usually means the job
 * is going down (OpenMPI aborts every rank when one dies). */
#ifndef UTIL_DIST_H
#define UTIL_DIST_H
#include <stddef.h>
#include <stdint.h>

/* Whether the environment says a launcher started us (OMPI_COMM_WORLD_SIZE, PMIX_RANK,
 * PMI_SIZE/PMI_RANK, or SLURM_PROCID with SLURM_NTASKS > 1). */
int dist_launched(void);
/* Loads and initialises MPI when launched; a no-op otherwise. Call once, early. */
int dist_init(int *argc, char ***argv);
void dist_finalize(void);
/* Ends every rank of the job (after a failure that leaves the others waiting). */
void dist_abort(int code);

int dist_active(void);          /* more than one process (and not solo, below) */
int dist_rank(void);
int dist_size(void);
/* Solo: the collectives above act as in one process (a sweep's ranks each train their
 * own run); the world's rank and size and point-to-point messages stay as they are. */
void dist_set_solo(int solo);
/* Groups: world ranks [g*k, (g+1)*k) form group g, and the collectives above (with
 * dist_rank and dist_size) act within the group, so k ranks train one run of a sweep
 * together. k <= 1 is solo. ERR_INPUT when k does not divide the world's size. */
int dist_set_groups(int k);
int dist_world_active(void);
int dist_world_rank(void);
int dist_world_size(void);
int dist_local_size(void);      /* processes of the job on this machine (>= 1) */
/* Threads a process should use by default: the machine's cores shared by the local ranks. */
int dist_default_threads(void);

/* In place, every rank gets the sum over ranks. */
int dist_allreduce_sum_floats(float *x, long n);
int dist_allreduce_sum_doubles(double *x, long n);
int dist_allreduce_sum_longs(long *x, long n);
int dist_allreduce_max_int(int *x);
/* bytes from root to every rank. */
int dist_bcast(void *buf, long bytes, int root);
/* Every rank's n ints, concatenated in rank order into *all (malloc'd, *total ints). */
int dist_allgatherv_ints(const int32_t *mine, int n, int32_t **all, long *total);
int dist_barrier(void);

/* Point to point, for the sweep's work queue: whole messages of bytes. */
int dist_send(int to, int tag, const void *buf, long bytes);
/* Blocks for a message with tag (from any rank); *buf is malloc'd. */
int dist_recv(int tag, void **buf, long *bytes, int *source);
/* Whether a message with tag is waiting (never blocks); *source gets its sender. */
int dist_poll(int tag, int *source);
#endif
