/* safetensors files (8-byte little-endian header length, JSON header, raw tensors), so
 * PyTorch users can open checkpoints and bundles. Read through mmap; every size and
 * offset is checked against the file before use. */
#ifndef FORMATS_SAFETENSORS_H
#define FORMATS_SAFETENSORS_H
#include <stddef.h>
#include <stdint.h>

/* Metadata bounds: checkpoints hold about 60 entries of at most 128 bytes. */
enum { SAFETENSORS_META_MAX = 4096, SAFETENSORS_META_VALUE_MAX = 65535 };

typedef struct {
    char name[128];
    char dtype[8];          /* "F32", "I32", ... */
    int ndim;
    long shape[4];
    size_t begin, end;      /* byte range within the data region */
} SafeTensorInfo;

typedef struct {
    SafeTensorInfo *tensors;
    int count;
    char **meta_keys, **meta_values;
    int meta_count;
    const uint8_t *data;    /* start of the data region */
    size_t data_bytes;
    void *map;
    size_t map_bytes;
    char path[4096];
} SafeTensors;

typedef struct {
    const char *name, *dtype;
    int ndim;
    long shape[4];
    const void *data;
} SafeTensorEntry;

int safetensors_open(SafeTensors *st, const char *path);   /* ERR_INPUT naming the file */
void safetensors_close(SafeTensors *st);
const SafeTensorInfo *safetensors_find(const SafeTensors *st, const char *name);
/* The F32 tensor name with exactly numel values, or NULL with an error message set. The
 * bytes as stored: the format does not align them (the header's length sets where they
 * start), so copy them out with memcpy rather than read them as floats in place. */
const void *safetensors_f32(const SafeTensors *st, const char *name, long numel);
const char *safetensors_meta(const SafeTensors *st, const char *key);   /* NULL if absent */
/* Atomic write. meta: n_meta string pairs stored in "__metadata__". */
int safetensors_write(const char *path, const SafeTensorEntry *entries, int n,
                      const char *const *meta_keys, const char *const *meta_values, int n_meta);
#endif
