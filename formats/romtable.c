#include "formats/romtable.h"
#include "util/byteorder.h"
#include "util/error.h"
#include "util/hash.h"
#include "util/fileio.h"
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char rom_magic[8] = {'M', 'E', 'K', 'I', 'R', 'O', 'M', '1'};
enum { HEADER_USED = 72 + 4 * ROM_MAX_TABLES };           /* bytes before the zero padding */

/* The header fields, decoded; all sizes as stored, before validation. */
typedef struct {
    uint32_t version, dtype, n_tables, rows, width, group;
    uint64_t row_bytes, token_stride, data_offset, file_bytes, checksum;
    int32_t layer[ROM_MAX_TABLES];
} RomHeader;

/* ---- header encoding: explicit little-endian bytes (util/byteorder.h) ---- */

static void encode_header(uint8_t page[ROM_PAGE], const RomHeader *h) {
    memset(page, 0, ROM_PAGE);
    memcpy(page, rom_magic, 8);
    const uint32_t small[6] = {h->version, h->dtype, h->n_tables, h->rows, h->width, h->group};
    for (int i = 0; i < 6; i++) store_u32(page + 8 + 4 * i, small[i]);
    const uint64_t big[5] = {h->row_bytes, h->token_stride, h->data_offset, h->file_bytes,
                             h->checksum};
    for (int i = 0; i < 5; i++) store_u64(page + 32 + 8 * i, big[i]);
    for (int s = 0; s < ROM_MAX_TABLES; s++) store_u32(page + 72 + 4 * s, (uint32_t)h->layer[s]);
}

static void decode_header(RomHeader *h, const uint8_t page[ROM_PAGE]) {
    uint32_t *small[6] = {&h->version, &h->dtype, &h->n_tables, &h->rows, &h->width, &h->group};
    for (int i = 0; i < 6; i++) *small[i] = load_u32(page + 8 + 4 * i);
    uint64_t *big[5] = {&h->row_bytes, &h->token_stride, &h->data_offset, &h->file_bytes,
                        &h->checksum};
    for (int i = 0; i < 5; i++) *big[i] = load_u64(page + 32 + 8 * i);
    for (int s = 0; s < ROM_MAX_TABLES; s++) h->layer[s] = (int32_t)load_u32(page + 72 + 4 * s);
}

/* The header's group field: values per quantization block (32, or the whole narrow row). */
static uint32_t rom_block_values(TableDtype dtype, int width) {
    if (dtype != TABLE_Q8 && dtype != TABLE_Q4) return 0;
    return quant_is_blocked(width) ? QK_BLOCK : (uint32_t)width;
}

static uint64_t round_up_page(uint64_t n) { return (n + ROM_PAGE - 1) / ROM_PAGE * ROM_PAGE; }

/* ---- writing ------------------------------------------------------------------- */

static int check_layers(const char *path, const int32_t *layer, int n_tables) {
    uint64_t seen = 0;
    for (int s = 0; s < n_tables; s++) {
        if (layer[s] < 0 || layer[s] >= ROM_MAX_TABLES)
            return error_set(ERR_INPUT, "%s: table %d has layer %d, outside 0..%d", path, s,
                             (int)layer[s], ROM_MAX_TABLES - 1);
        if (seen >> layer[s] & 1)
            return error_set(ERR_INPUT, "%s: layer %d has two tables", path, (int)layer[s]);
        seen |= 1ULL << layer[s];
    }
    return OK;
}

/* q8 / q4 scales come from max|x|: one inf or nan would spoil its whole row or group; and
 * a finite value beyond an f16 (or its block's f16 scale) would be written as inf. */
static int check_finite(const char *path, TableDtype dtype, int n_tables, int rows, int width,
                        const int *layers, const float *const *tables) {
    size_t n = (size_t)rows * (size_t)width;
    for (int s = 0; s < n_tables; s++) {
        for (size_t i = 0; (dtype == TABLE_Q8 || dtype == TABLE_Q4) && i < n; i++)
            if (!isfinite(tables[s][i]))
                return error_set(ERR_INPUT, "%s: layer %d row %zu has a non-finite value, which %s "
                                 "cannot encode", path, layers[s], i / (size_t)width,
                                 table_dtype_name(dtype));
        long at = quant_find_overflow(dtype, tables[s], rows, width);
        if (at >= 0)
            return error_set(ERR_INPUT, "%s: layer %d row %ld holds %g, too large for %s", path,
                             layers[s], at / width, tables[s][at], table_dtype_name(dtype));
    }
    return OK;
}

static int check_write_args(const char *path, TableDtype dtype, int n_tables, int rows, int width,
                            const int *layers, const float *const *tables) {
    if ((unsigned)dtype >= TABLE_DTYPE_COUNT)
        return error_set(ERR_INPUT, "%s: unknown table dtype %d", path, (int)dtype);
    if (n_tables < 1 || n_tables > ROM_MAX_TABLES)
        return error_set(ERR_INPUT, "%s: %d tables, expected 1..%d", path, n_tables, ROM_MAX_TABLES);
    if (rows < 1 || width < 1)
        return error_set(ERR_INPUT, "%s: table shape %d x %d is empty", path, rows, width);
    int32_t layer[ROM_MAX_TABLES];
    for (int s = 0; s < n_tables; s++) {
        if (!tables[s]) return error_set(ERR_INPUT, "%s: table %d is missing", path, s);
        layer[s] = layers[s];
    }
    int rc = check_layers(path, layer, n_tables);
    return rc ? rc : check_finite(path, dtype, n_tables, rows, width, layers, tables);
}

static RomHeader layout_header(TableDtype dtype, int n_tables, int rows, int width,
                               const int *layers) {
    RomHeader h = {.version = ROM_VERSION, .dtype = dtype, .n_tables = (uint32_t)n_tables,
                   .rows = (uint32_t)rows, .width = (uint32_t)width,
                   .group = rom_block_values(dtype, width)};
    h.row_bytes = table_row_bytes(dtype, width);
    h.token_stride = h.row_bytes * (uint64_t)n_tables;
    h.data_offset = ROM_PAGE;
    h.file_bytes = h.data_offset + round_up_page(h.token_stride * (uint64_t)rows);
    for (int s = 0; s < ROM_MAX_TABLES; s++) h.layer[s] = s < n_tables ? layers[s] : -1;
    return h;
}

/* Encode the rows in chunks, token-major (row r of every table, then row r + 1), hashing
 * exactly the bytes written. */
static int write_rows(AtomicFile *af, const RomHeader *h, const float *const *tables, uint8_t *buffer,
                      size_t chunk_rows, uint64_t *hash) {
    static const uint8_t zeros[ROM_PAGE];
    int width = (int)h->width;
    for (size_t start = 0; start < h->rows; start += chunk_rows) {
        size_t n = h->rows - start < chunk_rows ? h->rows - start : chunk_rows;
        for (size_t r = 0; r < n; r++)
            for (uint32_t s = 0; s < h->n_tables; s++)
                quant_encode_row(h->dtype, buffer + r * h->token_stride + s * h->row_bytes,
                                 tables[s] + (start + r) * (size_t)width, width);
        *hash = fnv1a64(*hash, buffer, n * h->token_stride);
        if (atomic_write(af, buffer, n * h->token_stride)) return ERR_FAILURE;
    }
    size_t pad = h->file_bytes - h->data_offset - h->rows * h->token_stride;
    *hash = fnv1a64(*hash, zeros, pad);
    return atomic_write(af, zeros, pad);
}

/* Data first behind a placeholder page, then the header with the checksum over it. */
static int write_body(AtomicFile *af, RomHeader *h, const float *const *tables) {
    static const uint8_t zeros[ROM_PAGE];
    size_t chunk_rows = (1u << 20) / h->token_stride + 1;
    if (chunk_rows > h->rows) chunk_rows = h->rows;
    uint8_t *buffer = malloc(chunk_rows * h->token_stride);
    if (!buffer) return error_set(ERR_FAILURE, "%s: out of memory", af->path);
    int rc = atomic_write(af, zeros, ROM_PAGE);
    h->checksum = FNV1A64_OFFSET;
    if (!rc) rc = write_rows(af, h, tables, buffer, chunk_rows, &h->checksum);
    free(buffer);
    if (rc) return rc;
    if (fflush(af->file) != 0 || fseek(af->file, 0, SEEK_SET) != 0)
        return error_set(ERR_FAILURE, "%s: cannot rewind to write the header: %s", af->path,
                         strerror(errno));
    uint8_t page[ROM_PAGE];
    encode_header(page, h);
    return atomic_write(af, page, ROM_PAGE);
}

int rom_table_write(const char *path, TableDtype dtype, int n_tables, int rows, int width,
                    const int *layers, const float *const *tables) {
    int rc = check_write_args(path, dtype, n_tables, rows, width, layers, tables);
    if (rc) return rc;
    RomHeader h = layout_header(dtype, n_tables, rows, width, layers);
    AtomicFile af;
    if (atomic_open(&af, path)) return ERR_FAILURE;
    rc = write_body(&af, &h, tables);
    if (rc) {
        atomic_abort(&af);
        return rc;
    }
    return atomic_commit(&af);
}

/* ---- opening: every check names the file and the field ------------------------- */

static int refuse_truncated(const char *path, const RomHeader *h, size_t header_read, long long size) {
    if (header_read >= 64 && h->file_bytes > (uint64_t)size)
        return error_set(ERR_INPUT, "%s: truncated (expected %llu bytes, found %lld)", path,
                         (unsigned long long)h->file_bytes, size);
    return error_set(ERR_INPUT, "%s: truncated (expected at least %d bytes, found %lld)", path,
                     ROM_PAGE, size);
}

/* Magic, version and a whole header page; works on a partially read page. */
static int check_identity(const char *path, const uint8_t *page, const RomHeader *h,
                          size_t header_read, long long size) {
    if (header_read >= 8 && memcmp(page, rom_magic, 8) != 0)
        return error_set(ERR_INPUT, "%s: not a MeKi ROM table (bad magic)", path);
    if (header_read >= 12 && h->version < ROM_VERSION)
        return error_set(ERR_INPUT, "%s: ROM table version %u is older than this build's %d (%s): "
                         "fold the checkpoint again with `meki fold`", path, h->version, ROM_VERSION,
                         h->version == 1 ? "its q8 / q4 layouts changed to q8_0 / q4_0"
                                         : "version 3 stores a token's rows of every layer together");
    if (header_read >= 12 && h->version != ROM_VERSION)
        return error_set(ERR_INPUT, "%s: unsupported ROM table version %u (expected %d)", path,
                         h->version, ROM_VERSION);
    if (size < ROM_PAGE) return refuse_truncated(path, h, header_read, size);
    return OK;
}

static int check_shape(const char *path, const RomHeader *h) {
    if (h->dtype >= TABLE_DTYPE_COUNT)
        return error_set(ERR_INPUT, "%s: unknown table dtype %u", path, h->dtype);
    if (h->n_tables < 1 || h->n_tables > ROM_MAX_TABLES)
        return error_set(ERR_INPUT, "%s: n_tables is %u, expected 1..%d", path, h->n_tables,
                         ROM_MAX_TABLES);
    if (h->rows < 1 || h->rows > INT_MAX || h->width < 1 || h->width > INT_MAX)
        return error_set(ERR_INPUT, "%s: bad table shape %u x %u", path, h->rows, h->width);
    uint32_t group = rom_block_values((TableDtype)h->dtype, (int)h->width);
    if (h->group != group)
        return error_set(ERR_INPUT, "%s: group is %u, expected %u for %s", path, h->group, group,
                         table_dtype_name(h->dtype));
    size_t row_bytes = table_row_bytes(h->dtype, (int)h->width);
    if (h->row_bytes != row_bytes)
        return error_set(ERR_INPUT, "%s: row_bytes is %llu, expected %zu for %s width %u", path,
                         (unsigned long long)h->row_bytes, row_bytes, table_dtype_name(h->dtype),
                         h->width);
    return OK;
}

static int check_layout(const char *path, const RomHeader *h, long long size) {
    if (h->data_offset != ROM_PAGE)
        return error_set(ERR_INPUT, "%s: data_offset is %llu, expected %d", path,
                         (unsigned long long)h->data_offset, ROM_PAGE);
    uint64_t stride = h->row_bytes * h->n_tables;         /* < 2^33 * 2^6: no overflow */
    if (h->token_stride != stride)
        return error_set(ERR_INPUT, "%s: token_stride is %llu, expected %u tables x %llu bytes", path,
                         (unsigned long long)h->token_stride, h->n_tables,
                         (unsigned long long)h->row_bytes);
    uint64_t data, expected;
    if (__builtin_mul_overflow(stride, (uint64_t)h->rows, &data) || data > UINT64_MAX / 2 ||
        (expected = ROM_PAGE + round_up_page(data)) != h->file_bytes)
        return error_set(ERR_INPUT, "%s: file_bytes is %llu, but the layout needs %d + %u rows x %llu "
                         "rounded up to a page", path, (unsigned long long)h->file_bytes, ROM_PAGE,
                         h->rows, (unsigned long long)stride);
    if ((uint64_t)size < h->file_bytes) return refuse_truncated(path, h, ROM_PAGE, size);
    if ((uint64_t)size > h->file_bytes)
        return error_set(ERR_INPUT, "%s: file is %lld bytes but its header says %llu", path, size,
                         (unsigned long long)h->file_bytes);
    return OK;
}

static int check_slots(const char *path, const uint8_t *page, const RomHeader *h) {
    int rc = check_layers(path, h->layer, (int)h->n_tables);
    if (rc) return rc;
    for (int s = (int)h->n_tables; s < ROM_MAX_TABLES; s++)
        if (h->layer[s] != -1)
            return error_set(ERR_INPUT, "%s: unused slot %d has layer %d (expected -1)", path, s,
                             (int)h->layer[s]);
    for (int i = HEADER_USED; i < ROM_PAGE; i++)
        if (page[i])
            return error_set(ERR_INPUT, "%s: corrupt header (reserved byte %d is not zero)", path, i);
    return OK;
}

static int read_header(int fd, const char *path, uint8_t page[ROM_PAGE], size_t *got) {
    memset(page, 0, ROM_PAGE);
    *got = 0;
    while (*got < ROM_PAGE) {
        ssize_t n = pread(fd, page + *got, ROM_PAGE - *got, (off_t)*got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return error_set(ERR_INPUT, "%s: cannot read header: %s", path, strerror(errno));
        if (n == 0) break;
        *got += (size_t)n;
    }
    return OK;
}

static void fill_table(RomTable *t, const RomHeader *h) {
    t->dtype = (TableDtype)h->dtype;
    t->n_tables = (int)h->n_tables;
    t->rows = (int)h->rows;
    t->width = (int)h->width;
    for (int s = 0; s < ROM_MAX_TABLES; s++) {
        t->layer[s] = s < t->n_tables ? h->layer[s] : -1;
        if (s < t->n_tables) t->slot_of_layer[h->layer[s]] = s;
    }
    t->row_bytes = h->row_bytes;
    t->token_stride = h->token_stride;
    t->data_offset = h->data_offset;
    t->file_bytes = h->file_bytes;
}

/* The header is read with pread, not through the mapping, so that nothing is mapped
 * until the sizes are known to match the file (a mapping past EOF faults on access). */
static int validate(int fd, const char *path, RomHeader *h, long long size) {
    uint8_t page[ROM_PAGE];
    size_t got;
    int rc = read_header(fd, path, page, &got);
    if (rc) return rc;
    decode_header(h, page);
    if ((rc = check_identity(path, page, h, got, size))) return rc;
    if ((rc = check_shape(path, h))) return rc;
    if ((rc = check_layout(path, h, size))) return rc;
    return check_slots(path, page, h);
}

static int open_mapped(RomTable *t, const char *path, int verify_checksum) {
    long long size;
    int rc = open_input(path, "ROM table", &t->fd, &size);
    if (rc) return rc;
    RomHeader h;
    rc = validate(t->fd, path, &h, size);
    if (rc) return rc;
    void *base = mmap(NULL, h.file_bytes, PROT_READ, MAP_SHARED, t->fd, 0);
    if (base == MAP_FAILED)
        return error_set(ERR_FAILURE, "cannot map %s: %s", path, strerror(errno));
    t->base = base;
    fill_table(t, &h);
    if (!verify_checksum) return OK;
    uint64_t sum = fnv1a64(FNV1A64_OFFSET, t->base + ROM_PAGE, h.file_bytes - ROM_PAGE);
    if (sum != h.checksum)
        return error_set(ERR_INPUT, "%s: checksum mismatch (header %016llx, data %016llx): the file "
                         "is corrupted", path, (unsigned long long)h.checksum,
                         (unsigned long long)sum);
    return OK;
}

int rom_table_open(RomTable *t, const char *path, int verify_checksum) {
    memset(t, 0, sizeof *t);
    t->fd = -1;
    for (int l = 0; l < ROM_MAX_TABLES; l++) t->slot_of_layer[l] = t->layer[l] = -1;
    snprintf(t->path, sizeof t->path, "%s", path);
    int rc = open_mapped(t, path, verify_checksum);
    if (rc) rom_table_close(t);
    return rc;
}

void rom_table_close(RomTable *t) {
    if (t->base) munmap((void *)t->base, t->file_bytes);
    if (t->fd >= 0) close(t->fd);
    t->base = NULL;
    t->fd = -1;
}

/* ---- rows ------------------------------------------------------------------------ */

static _Atomic unsigned long reads;

unsigned long rom_table_reads(void) { return reads; }

const void *rom_table_row_address(const RomTable *t, int layer, int row) {
    if (!t->base || layer < 0 || layer >= ROM_MAX_TABLES || row < 0 || row >= t->rows) return NULL;
    int slot = t->slot_of_layer[layer];
    if (slot < 0) return NULL;
    return t->base + t->data_offset + (size_t)row * t->token_stride + (size_t)slot * t->row_bytes;
}

void rom_table_read_row(const RomTable *t, int layer, int row, float *out) {
    const void *p = rom_table_row_address(t, layer, row);
    assert(p && "rom_table_read_row: layer without a table, or row out of range");
    reads++;
    quant_decode_row(t->dtype, out, p, t->width);
}

const uint8_t *rom_table_token_rows(const RomTable *t, int row) {
    if (!t->base || row < 0 || row >= t->rows) return NULL;
    reads++;
    return t->base + t->data_offset + (size_t)row * t->token_stride;
}

void rom_table_decode_row(const RomTable *t, const uint8_t *token_rows, int layer, float *out) {
    int slot = layer >= 0 && layer < ROM_MAX_TABLES ? t->slot_of_layer[layer] : -1;
    assert(token_rows && slot >= 0 && "rom_table_decode_row: layer without a table");
    quant_decode_row(t->dtype, out, token_rows + (size_t)slot * t->row_bytes, t->width);
}
