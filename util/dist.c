/* MPI through dlopen: libmpi (and the dozen libraries it pulls in) costs a plain ./meki
 * about 20 ms of dynamic linking at every start, so it is loaded only under a launcher.
 * mpi.h gives the types and prototypes; OpenMPI's predefined handles (MPI_COMM_WORLD,
 * MPI_FLOAT, MPI_SUM, ...) are the addresses of its global objects, looked up by name. */
#include "util/dist.h"
#include "util/error.h"
#include <dlfcn.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct {
    int active, rank, size, local_size;
    int group_rank, group_size;     /* in comm: the world, or this rank's group of a sweep */
    void *lib;
    MPI_Comm world, comm;
    MPI_Datatype t_float, t_double, t_long, t_int, t_byte;
    MPI_Op op_sum, op_max;
    __typeof__(MPI_Init_thread) *init_thread;
    __typeof__(MPI_Finalize) *finalize;
    __typeof__(MPI_Abort) *abort;
    __typeof__(MPI_Comm_rank) *comm_rank;
    __typeof__(MPI_Comm_size) *comm_size;
    __typeof__(MPI_Allreduce) *allreduce;
    __typeof__(MPI_Bcast) *bcast;
    __typeof__(MPI_Allgather) *allgather;
    __typeof__(MPI_Allgatherv) *allgatherv;
    __typeof__(MPI_Barrier) *barrier;
    __typeof__(MPI_Send) *send;
    __typeof__(MPI_Recv) *recv;
    __typeof__(MPI_Probe) *probe;
    __typeof__(MPI_Iprobe) *iprobe;
    __typeof__(MPI_Get_count) *get_count;
    __typeof__(MPI_Comm_split) *comm_split;
} D = {.size = 1, .local_size = 1, .group_size = 1};

static int env_int(const char *name, int fallback) {
    const char *v = getenv(name);
    return v && *v ? atoi(v) : fallback;
}

int dist_launched(void) {
    if (getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK")) return 1;
    if (getenv("PMI_SIZE") && getenv("PMI_RANK")) return 1;
    return getenv("SLURM_PROCID") && env_int("SLURM_NTASKS", 1) > 1;
}

static void *sym(const char *name, int *missing) {
    void *p = dlsym(D.lib, name);
    if (!p) *missing = 1;
    return p;
}

int dist_init(int *argc, char ***argv) {
    if (D.active || !dist_launched()) return OK;
    const char *names[] = {"libmpi.so.40", "libmpi.so"};
    for (size_t i = 0; i < 2 && !D.lib; i++) D.lib = dlopen(names[i], RTLD_NOW | RTLD_GLOBAL);
    if (!D.lib)
        return error_set(ERR_FAILURE, "launched by an MPI launcher but cannot load libmpi (%s): "
                                      "apt-get install openmpi-bin", dlerror());
    int missing = 0;
#define FN(field, name) D.field = (__typeof__(D.field))sym(name, &missing)
    FN(init_thread, "MPI_Init_thread"); FN(finalize, "MPI_Finalize"); FN(abort, "MPI_Abort");
    FN(comm_rank, "MPI_Comm_rank"); FN(comm_size, "MPI_Comm_size"); FN(allreduce, "MPI_Allreduce");
    FN(bcast, "MPI_Bcast"); FN(allgather, "MPI_Allgather"); FN(allgatherv, "MPI_Allgatherv");
    FN(barrier, "MPI_Barrier"); FN(send, "MPI_Send"); FN(recv, "MPI_Recv"); FN(probe, "MPI_Probe");
    FN(iprobe, "MPI_Iprobe"); FN(get_count, "MPI_Get_count"); FN(comm_split, "MPI_Comm_split");
#undef FN
    D.world = (MPI_Comm)sym("ompi_mpi_comm_world", &missing);
    D.t_float = (MPI_Datatype)sym("ompi_mpi_float", &missing);
    D.t_double = (MPI_Datatype)sym("ompi_mpi_double", &missing);
    D.t_long = (MPI_Datatype)sym("ompi_mpi_long", &missing);
    D.t_int = (MPI_Datatype)sym("ompi_mpi_int", &missing);
    D.t_byte = (MPI_Datatype)sym("ompi_mpi_byte", &missing);
    D.op_sum = (MPI_Op)sym("ompi_mpi_op_sum", &missing);
    D.op_max = (MPI_Op)sym("ompi_mpi_op_max", &missing);
    if (missing) return error_set(ERR_FAILURE, "the loaded libmpi is not OpenMPI 4 (a symbol is missing)");
    int provided;
    /* only the main thread calls MPI; OpenMP threads compute between the calls */
    if (D.init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return error_set(ERR_FAILURE, "MPI_Init_thread failed");
    D.comm_rank(D.world, &D.rank);
    D.comm_size(D.world, &D.size);
    D.comm = D.world;
    D.group_rank = D.rank;
    D.group_size = D.size;
    D.local_size = env_int("OMPI_COMM_WORLD_LOCAL_SIZE", env_int("SLURM_NTASKS_PER_NODE", 0));
    if (D.local_size < 1 || D.local_size > D.size) D.local_size = D.size;
    D.active = 1;
    return OK;
}

void dist_finalize(void) {
    if (!D.active) return;
    D.finalize();
    D.active = 0;
}

void dist_abort(int code) {
    if (D.active) D.abort(D.world, code);
    exit(code);
}

static int solo;
int dist_world_active(void) { return D.active && D.size > 1; }
int dist_world_rank(void) { return D.rank; }
int dist_world_size(void) { return D.size; }
void dist_set_solo(int s) { solo = s; }
int dist_active(void) { return dist_world_active() && !solo && D.group_size > 1; }
int dist_rank(void) { return solo ? 0 : D.group_rank; }
int dist_size(void) { return solo ? 1 : D.group_size; }

int dist_set_groups(int k) {
    if (k <= 1) { solo = 1; return OK; }
    if (!dist_world_active() || D.size % k)
        return error_set(ERR_INPUT, "groups of %d ranks need a job of a multiple of %d ranks (this one has %d)",
                         k, k, D.size);
    MPI_Comm group;
    int rc = D.comm_split(D.world, D.rank / k, D.rank, &group);
    if (rc != MPI_SUCCESS) return error_set(ERR_FAILURE, "MPI comm_split failed (code %d)", rc);
    D.comm = group;
    D.comm_rank(group, &D.group_rank);
    D.comm_size(group, &D.group_size);
    solo = 0;
    return OK;
}

int dist_local_size(void) { return D.local_size; }

int dist_default_threads(void) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int t = (int)(cores > 0 ? cores : 1) / (D.active ? D.local_size : 1);
    return t > 0 ? t : 1;
}

static int check(int rc, const char *what) {
    return rc == MPI_SUCCESS ? OK : error_set(ERR_FAILURE, "MPI %s failed (code %d)", what, rc);
}

/* Chunks keep each call's count an int and bound the temporary buffers MPI may take. */
#define CHUNK (1L << 22)

static int allreduce(void *x, long n, MPI_Datatype type, size_t size, MPI_Op op) {
    if (!dist_active()) return OK;
    for (long i = 0; i < n; i += CHUNK) {
        long k = n - i < CHUNK ? n - i : CHUNK;
        int rc = D.allreduce(MPI_IN_PLACE, (char *)x + i * size, (int)k, type, op, D.comm);
        if (rc != MPI_SUCCESS) return check(rc, "allreduce");
    }
    return OK;
}

int dist_allreduce_sum_floats(float *x, long n) { return allreduce(x, n, D.t_float, sizeof *x, D.op_sum); }
int dist_allreduce_sum_doubles(double *x, long n) { return allreduce(x, n, D.t_double, sizeof *x, D.op_sum); }
int dist_allreduce_sum_longs(long *x, long n) { return allreduce(x, n, D.t_long, sizeof *x, D.op_sum); }
int dist_allreduce_max_int(int *x) { return allreduce(x, 1, D.t_int, sizeof *x, D.op_max); }

int dist_bcast(void *buf, long bytes, int root) {
    if (!dist_active()) return OK;
    for (long i = 0; i < bytes; i += CHUNK * 4) {
        long k = bytes - i < CHUNK * 4 ? bytes - i : CHUNK * 4;
        int rc = D.bcast((char *)buf + i, (int)k, D.t_byte, root, D.comm);
        if (rc != MPI_SUCCESS) return check(rc, "bcast");
    }
    return OK;
}

int dist_allgatherv_ints(const int32_t *mine, int n, int32_t **all, long *total) {
    *all = NULL;
    *total = 0;
    if (!dist_active()) {
        *all = malloc(sizeof(int32_t) * (size_t)(n > 0 ? n : 1));
        if (!*all) return error_set(ERR_FAILURE, "out of memory");
        memcpy(*all, mine, sizeof(int32_t) * (size_t)n);
        *total = n;
        return OK;
    }
    int size = dist_size(), *counts = malloc(sizeof(int) * (size_t)size * 2), rc;
    if (!counts) return error_set(ERR_FAILURE, "out of memory");
    int *displs = counts + size;
    if ((rc = D.allgather(&n, 1, D.t_int, counts, 1, D.t_int, D.comm)) != MPI_SUCCESS) {
        free(counts);
        return check(rc, "allgather");
    }
    long sum = 0;
    for (int r = 0; r < size; r++) { displs[r] = (int)sum; sum += counts[r]; }
    *all = malloc(sizeof(int32_t) * (size_t)(sum > 0 ? sum : 1));
    if (!*all) { free(counts); return error_set(ERR_FAILURE, "out of memory"); }
    rc = D.allgatherv(mine, n, D.t_int, *all, counts, displs, D.t_int, D.comm);
    free(counts);
    if (rc != MPI_SUCCESS) { free(*all); *all = NULL; return check(rc, "allgatherv"); }
    *total = sum;
    return OK;
}

int dist_barrier(void) { return dist_active() ? check(D.barrier(D.comm), "barrier") : OK; }

int dist_send(int to, int tag, const void *buf, long bytes) {
    if (!dist_world_active()) return error_set(ERR_FAILURE, "send without MPI");
    if (bytes > 0x7fffffffL) return error_set(ERR_FAILURE, "message of %ld bytes is too large", bytes);
    return check(D.send(buf, (int)bytes, D.t_byte, to, tag, D.world), "send");
}

int dist_recv(int tag, void **buf, long *bytes, int *source) {
    MPI_Status st;
    int count, rc;
    *buf = NULL;
    if (!dist_world_active()) return error_set(ERR_FAILURE, "receive without MPI");
    if ((rc = D.probe(MPI_ANY_SOURCE, tag, D.world, &st)) != MPI_SUCCESS) return check(rc, "probe");
    D.get_count(&st, D.t_byte, &count);
    *buf = malloc((size_t)(count > 0 ? count : 1));
    if (!*buf) return error_set(ERR_FAILURE, "out of memory for a %d-byte message", count);
    rc = D.recv(*buf, count, D.t_byte, st.MPI_SOURCE, tag, D.world, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS) { free(*buf); *buf = NULL; return check(rc, "recv"); }
    *bytes = count;
    if (source) *source = st.MPI_SOURCE;
    return OK;
}

int dist_poll(int tag, int *source) {
    MPI_Status st;
    int flag = 0;
    if (!dist_world_active() || D.iprobe(MPI_ANY_SOURCE, tag, D.world, &flag, &st) != MPI_SUCCESS) return 0;
    if (flag && source) *source = st.MPI_SOURCE;
    return flag;
}
