/* Byte-level BPE: encoder, decoder and the tokenizer file.
 *
 * File layout (little-endian): "MEKIBPE1", u32 version, u32 vocab_size, u32 n_merges,
 * u32 reserved (0), u64 checksum, then n_merges pairs of u16 (left, right). The checksum
 * (FNV-1a) covers the first 24 header bytes and the merges, so any flipped byte is seen. */
#include "data/tokenizer.h"
#include "util/progress.h"
#include "data/bpe.h"
#include "data/checksum.h"
#include "data/corpus_hash.h"
#include "util/byteorder.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/rng.h"
#include <stdlib.h>
#include <string.h>

#define TOKENIZER_MAGIC "MEKIBPE1"
enum { TOKENIZER_VERSION = 1, HEADER_BYTES = 32 };
/* no valid tokenizer file is larger: a bigger one is refused before a byte of it is read */
#define TOKENIZER_MAX_FILE_BYTES (HEADER_BYTES + 4LL * BPE_VOCAB_MAX)
/* nor a tokenizer.json (GPT-2's, 50257 tokens, is 1.4 MB) */
#define TOKENIZER_MAX_JSON_BYTES (64LL << 20)
/* A crafted file could double token lengths merge after merge; real ones stay tiny. */
enum { MAX_TOKEN_BYTES = 1 << 16, MAX_TOTAL_TOKEN_BYTES = 1 << 26 };
#define RANK_EMPTY UINT64_MAX

struct Tokenizer {
    int vocab_size;                 /* 256 + n_merges */
    int n_merges;
    uint16_t (*merges)[2];          /* merge i makes token 256 + i */
    uint32_t *offsets, *lengths;    /* token id is bytes[offsets[id] .. + lengths[id]] */
    unsigned char *bytes;
    uint64_t *rank_keys;            /* open addressing: left << 16 | right, or RANK_EMPTY */
    int32_t *rank_values;           /* the merge's rank (its index) */
    uint32_t rank_mask;
    BpeOutside *outside;            /* a tokenizer.json's BPE (its own ids), or NULL */
};

static void outside_free(BpeOutside *o) {
    if (!o) return;
    free(o->merges);
    free(o->merge_result);
    free(o->offsets);
    free(o->lengths);
    free(o->bytes);
    free(o->json);
    free(o);
}

void tokenizer_free(Tokenizer *tok) {
    if (!tok) return;
    free(tok->merges);
    free(tok->offsets);
    free(tok->lengths);
    free(tok->bytes);
    free(tok->rank_keys);
    free(tok->rank_values);
    if (tok->outside) free(tok->outside->merge_result), free(tok->outside->json), free(tok->outside);
    free(tok);
}

int tokenizer_vocab_size(const Tokenizer *tok) { return tok->vocab_size; }

const char *tokenizer_outside_json(const Tokenizer *tok, size_t *bytes) {
    *bytes = tok->outside ? tok->outside->json_bytes : 0;
    return tok->outside ? tok->outside->json : NULL;
}

int tokenizer_merge_pair(const Tokenizer *tok, int i, int *left, int *right) {
    if (tok->outside)   /* its merges make other ids than 256 + i: the exports cannot write them */
        return error_set(ERR_INPUT, "an outside tokenizer (tokenizer.json) has no merge list in the harness's form");
    if (i < 0 || i >= tok->n_merges) return error_set(ERR_INPUT, "merge %d is out of range", i);
    *left = tok->merges[i][0];
    *right = tok->merges[i][1];
    return OK;
}

const unsigned char *tokenizer_token_bytes(const Tokenizer *tok, int id, int *length) {
    if (id < 0 || id >= tok->vocab_size) {
        *length = 0;
        return NULL;
    }
    *length = (int)tok->lengths[id];
    return tok->bytes + tok->offsets[id];
}

static uint32_t rank_slot(uint64_t key, uint32_t mask) { return (uint32_t)hash64(key) & mask; }

/* Rank of merging (a, b), or -1 when the pair is never merged. */
static int32_t rank_of(const Tokenizer *tok, uint32_t a, uint32_t b) {
    uint64_t key = (uint64_t)a << 16 | b;
    uint32_t s = rank_slot(key, tok->rank_mask);
    while (tok->rank_keys[s] != RANK_EMPTY) {
        if (tok->rank_keys[s] == key) return tok->rank_values[s];
        s = (s + 1) & tok->rank_mask;
    }
    return -1;
}

static int build_ranks(Tokenizer *tok) {
    uint32_t capacity = 64;
    while (capacity < 2u * (uint32_t)tok->n_merges + 2) capacity *= 2;
    tok->rank_keys = malloc(capacity * sizeof *tok->rank_keys);
    tok->rank_values = malloc(capacity * sizeof *tok->rank_values);
    if (!tok->rank_keys || !tok->rank_values) return error_set(ERR_FAILURE, "out of memory");
    memset(tok->rank_keys, 0xff, capacity * sizeof *tok->rank_keys);
    tok->rank_mask = capacity - 1;
    for (int i = 0; i < tok->n_merges; i++) {
        uint64_t key = (uint64_t)tok->merges[i][0] << 16 | tok->merges[i][1];
        uint32_t s = rank_slot(key, tok->rank_mask);
        while (tok->rank_keys[s] != RANK_EMPTY && tok->rank_keys[s] != key)
            s = (s + 1) & tok->rank_mask;
        /* a duplicate merge could never fire; keep the first (lowest) rank */
        if (tok->rank_keys[s] == key) continue;
        tok->rank_keys[s] = key;
        tok->rank_values[s] = i;
    }
    return OK;
}

/* Token byte strings: bytes for the first 256, then the concatenation of each merge. */
static int build_token_bytes(Tokenizer *tok, const char *source) {
    int n = tok->vocab_size;
    tok->offsets = malloc((size_t)n * sizeof *tok->offsets);
    tok->lengths = malloc((size_t)n * sizeof *tok->lengths);
    if (!tok->offsets || !tok->lengths) return error_set(ERR_FAILURE, "out of memory");
    size_t total = BPE_BYTE_TOKENS;
    for (int id = 0; id < n; id++) {
        if (id < BPE_BYTE_TOKENS) {
            tok->lengths[id] = 1;
            continue;
        }
        int a = tok->merges[id - BPE_BYTE_TOKENS][0], b = tok->merges[id - BPE_BYTE_TOKENS][1];
        if (a >= id || b >= id)
            return error_set(ERR_INPUT, "%s: merge %d uses token %d before it exists", source,
                             id - BPE_BYTE_TOKENS, a >= id ? a : b);
        tok->lengths[id] = tok->lengths[a] + tok->lengths[b];
        total += tok->lengths[id];
        if (tok->lengths[id] > MAX_TOKEN_BYTES || total > MAX_TOTAL_TOKEN_BYTES)
            return error_set(ERR_INPUT, "%s: implausibly long tokens (corrupt file?)", source);
    }
    tok->bytes = malloc(total);
    if (!tok->bytes) return error_set(ERR_FAILURE, "out of memory");
    size_t at = 0;
    for (int id = 0; id < n; id++) {
        tok->offsets[id] = (uint32_t)at;
        if (id < BPE_BYTE_TOKENS) {
            tok->bytes[at++] = (unsigned char)id;
            continue;
        }
        int a = tok->merges[id - BPE_BYTE_TOKENS][0], b = tok->merges[id - BPE_BYTE_TOKENS][1];
        memcpy(tok->bytes + at, tok->bytes + tok->offsets[a], tok->lengths[a]);
        memcpy(tok->bytes + at + tok->lengths[a], tok->bytes + tok->offsets[b], tok->lengths[b]);
        at += tok->lengths[id];
    }
    return OK;
}

int tokenizer_from_merges(Tokenizer **out, const uint16_t (*merges)[2], int n_merges,
                          const char *source) {
    *out = NULL;
    if (n_merges < 0 || n_merges > BPE_VOCAB_MAX - BPE_BYTE_TOKENS)
        return error_set(ERR_INPUT, "%s: %d merges is out of range", source, n_merges);
    Tokenizer *tok = calloc(1, sizeof *tok);
    if (!tok) return error_set(ERR_FAILURE, "out of memory");
    tok->n_merges = n_merges;
    tok->vocab_size = BPE_BYTE_TOKENS + n_merges;
    tok->merges = malloc(((size_t)n_merges + 1) * sizeof *tok->merges);
    if (!tok->merges) {
        tokenizer_free(tok);
        return error_set(ERR_FAILURE, "out of memory");
    }
    if (n_merges) memcpy(tok->merges, merges, (size_t)n_merges * sizeof *tok->merges);
    int rc = build_token_bytes(tok, source);
    if (!rc) rc = build_ranks(tok);
    if (rc) {
        tokenizer_free(tok);
        return rc;
    }
    *out = tok;
    return OK;
}

int tokenizer_from_outside(Tokenizer **out, BpeOutside *parts) {
    *out = NULL;
    Tokenizer *tok = calloc(1, sizeof *tok);
    BpeOutside *kept = malloc(sizeof *kept);
    if (!tok || !kept) {
        free(tok), free(kept);
        outside_free(parts);
        return error_set(ERR_FAILURE, "out of memory");
    }
    *kept = *parts;
    free(parts);
    tok->vocab_size = kept->vocab_size;
    tok->n_merges = kept->n_merges;
    tok->merges = kept->merges, tok->offsets = kept->offsets, tok->lengths = kept->lengths, tok->bytes = kept->bytes;
    kept->merges = NULL, kept->offsets = NULL, kept->lengths = NULL, kept->bytes = NULL;
    tok->outside = kept;
    int rc = build_ranks(tok);
    if (rc) {
        tokenizer_free(tok);
        return rc;
    }
    *out = tok;
    return OK;
}

int tokenizer_train(Tokenizer **out, const unsigned char *text, size_t bytes, int vocab_size) {
    *out = NULL;
    if (vocab_size < BPE_VOCAB_MIN || vocab_size > BPE_VOCAB_MAX)
        return error_set(ERR_INPUT, "vocab size %d is out of range (%d..%d)", vocab_size,
                         BPE_VOCAB_MIN, BPE_VOCAB_MAX);
    int wanted = vocab_size - BPE_BYTE_TOKENS, learned = 0;
    uint16_t (*merges)[2] = malloc(((size_t)wanted + 1) * sizeof *merges);
    if (!merges) return error_set(ERR_FAILURE, "out of memory");
    int rc = bpe_learn_merges(text, bytes, wanted, merges, &learned);
    if (!rc) rc = tokenizer_from_merges(out, (const uint16_t (*)[2])merges, learned, "training");
    free(merges);
    return rc;
}

/* ---- encoding ---- */

/* Applies merges by rank inside one chunk (at most BPE_CHUNK_MAX bytes); returns the
 * number of ids written. Each step merges every occurrence of the lowest-ranked pair,
 * left to right, which replays what training did to the same chunk. */
static int encode_chunk(const Tokenizer *tok, const unsigned char *chunk, size_t length,
                        uint16_t *out) {
    int32_t s[BPE_CHUNK_MAX];
    int n = (int)length;
    for (int i = 0; i < n; i++) s[i] = chunk[i];
    while (n > 1) {
        int32_t best = -1;
        int at = -1;
        for (int i = 0; i + 1 < n; i++) {
            int32_t r = rank_of(tok, (uint32_t)s[i], (uint32_t)s[i + 1]);
            if (r >= 0 && (best < 0 || r < best)) {
                best = r;
                at = i;
            }
        }
        if (best < 0) break;
        int32_t a = s[at], b = s[at + 1], m = at;
        for (int i = at; i < n;) {
            if (i + 1 < n && s[i] == a && s[i + 1] == b) {
                s[m++] = BPE_BYTE_TOKENS + best;
                i += 2;
            } else {
                s[m++] = s[i++];
            }
        }
        n = m;
    }
    for (int i = 0; i < n; i++) out[i] = (uint16_t)s[i];
    return n;
}

/* An outside tokenizer's word, as Hugging Face's BPE merges it: the lowest (rank, position)
 * pair first, one at a time, in a heap, so that a chunk of any length costs n log n.
 * ERR_INPUT when a byte has no token (Hugging Face would drop it silently). */
typedef struct { int32_t rank, at; } HeapItem;

static int heap_less(HeapItem a, HeapItem b) { return a.rank != b.rank ? a.rank < b.rank : a.at < b.at; }

static void heap_push(HeapItem *h, int *n, HeapItem item) {
    int i = (*n)++;
    while (i > 0 && heap_less(item, h[(i - 1) / 2])) h[i] = h[(i - 1) / 2], i = (i - 1) / 2;
    h[i] = item;
}

static HeapItem heap_pop(HeapItem *h, int *n) {
    HeapItem top = h[0], last = h[--*n];
    int i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && heap_less(h[c + 1], h[c])) c++;
        if (!heap_less(h[c], last)) break;
        h[i] = h[c], i = c;
    }
    h[i] = last;
    return top;
}

static int encode_outside_word(const Tokenizer *tok, const unsigned char *word, size_t length,
                               size_t offset, uint16_t *out, int *n_out) {
    /* symbols: id, previous and next live symbol (a doubly linked list over the positions) */
    int n = (int)length, rc = OK;
    int32_t *id = malloc(sizeof *id * (size_t)n * 3);
    HeapItem *heap = malloc(sizeof *heap * (size_t)n * 2 + sizeof *heap);
    if (!id || !heap) {
        free(id), free(heap);
        return error_set(ERR_FAILURE, "out of memory encoding text");
    }
    int32_t *prev = id + n, *next = id + 2 * n;
    int heap_n = 0;
    for (int i = 0; i < n; i++) {
        id[i] = tok->outside->byte_id[word[i]];
        if (id[i] < 0) {
            rc = error_set(ERR_INPUT, "byte 0x%02x at offset %zu of the text has no token in the "
                           "vocabulary (Hugging Face would drop it)", word[i], offset + (size_t)i);
            break;
        }
        prev[i] = i - 1, next[i] = i + 1 < n ? i + 1 : -1;
    }
    for (int i = 0; !rc && i + 1 < n; i++) {
        int32_t r = rank_of(tok, (uint32_t)id[i], (uint32_t)id[i + 1]);
        if (r >= 0) heap_push(heap, &heap_n, (HeapItem){r, i});
    }
    while (!rc && heap_n) {
        HeapItem top = heap_pop(heap, &heap_n);
        int a = top.at, b = next[a];
        /* stale: a was merged away or its pair changed since it was queued */
        if (id[a] < 0 || b < 0 || rank_of(tok, (uint32_t)id[a], (uint32_t)id[b]) != top.rank) continue;
        id[a] = tok->outside->merge_result[top.rank];
        id[b] = -1;
        next[a] = next[b];
        if (next[b] >= 0) prev[next[b]] = a;
        /* each merge removes one symbol and queues at most two pairs: the heap holds < 2n */
        int32_t r;
        if (prev[a] >= 0 && (r = rank_of(tok, (uint32_t)id[prev[a]], (uint32_t)id[a])) >= 0)
            heap_push(heap, &heap_n, (HeapItem){r, prev[a]});
        if (next[a] >= 0 && (r = rank_of(tok, (uint32_t)id[a], (uint32_t)id[next[a]])) >= 0)
            heap_push(heap, &heap_n, (HeapItem){r, a});
    }
    int m = 0;
    for (int i = 0; !rc && i >= 0 && i < n; i = next[i]) out[m++] = (uint16_t)id[i];
    *n_out = m;
    free(id);
    free(heap);
    return rc;
}

/* Encodings of the chunks seen so far in one encode call. Keys point into the text
 * being encoded, which outlives the cache, so nothing is copied. */
typedef struct {
    uint64_t hash;
    size_t position;
    uint32_t first_id;       /* in ChunkCache.ids */
    uint8_t length, n_ids;   /* length 0: empty slot */
} CacheSlot;

typedef struct {
    CacheSlot *slots;
    size_t mask, used;
    uint16_t *ids;
    size_t n_ids, cap_ids;
} ChunkCache;

enum { CACHE_MAX_SLOTS = 1 << 21 };   /* stop growing (but keep encoding) past ~1M chunks */

static void cache_free(ChunkCache *c) {
    free(c->slots);
    free(c->ids);
}

static int cache_rehash(ChunkCache *c) {
    size_t capacity = c->slots ? (c->mask + 1) * 2 : 4096;
    CacheSlot *fresh = calloc(capacity, sizeof *fresh);
    if (!fresh) return error_set(ERR_FAILURE, "out of memory");
    for (size_t i = 0; c->slots && i <= c->mask; i++) {
        if (!c->slots[i].length) continue;
        size_t s = c->slots[i].hash & (capacity - 1);
        while (fresh[s].length) s = (s + 1) & (capacity - 1);
        fresh[s] = c->slots[i];
    }
    free(c->slots);
    c->slots = fresh;
    c->mask = capacity - 1;
    return OK;
}

static CacheSlot *cache_find(ChunkCache *c, const unsigned char *text, size_t position,
                             size_t length, uint64_t hash) {
    size_t s = hash & c->mask;
    while (c->slots[s].length) {
        CacheSlot *slot = &c->slots[s];
        if (slot->hash == hash && slot->length == length &&
            !memcmp(text + slot->position, text + position, length))
            return slot;
        s = (s + 1) & c->mask;
    }
    return &c->slots[s];
}

/* Remembers a chunk's ids; silently skipped when the cache is full. */
static int cache_store(ChunkCache *c, CacheSlot *slot, uint64_t hash, size_t position,
                       size_t length, const uint16_t *ids, int n_ids) {
    if ((c->used + 1) * 2 > c->mask + 1 && c->mask + 1 >= CACHE_MAX_SLOTS) return OK;
    if (c->n_ids + (size_t)n_ids > c->cap_ids) {
        size_t cap = c->cap_ids ? c->cap_ids * 2 : 1 << 16;
        uint16_t *bigger = realloc(c->ids, cap * sizeof *bigger);
        if (!bigger) return error_set(ERR_FAILURE, "out of memory");
        c->ids = bigger;
        c->cap_ids = cap;
    }
    *slot = (CacheSlot){hash, position, (uint32_t)c->n_ids, (uint8_t)length, (uint8_t)n_ids};
    memcpy(c->ids + c->n_ids, ids, (size_t)n_ids * sizeof *ids);
    c->n_ids += (size_t)n_ids;
    c->used++;
    if (c->used * 2 > c->mask + 1 && c->mask + 1 < CACHE_MAX_SLOTS) return cache_rehash(c);
    return OK;
}

/* Makes room for a chunk's ids (at most one a byte) in the output. */
static int reserve_output(uint16_t **ids, size_t *capacity, size_t count, size_t length) {
    if (count + length <= *capacity) return OK;
    size_t cap = *capacity + *capacity / 2 + length;
    uint16_t *bigger = realloc(*ids, cap * sizeof *bigger);
    if (!bigger) return error_set(ERR_FAILURE, "out of memory encoding text");
    *ids = bigger;
    *capacity = cap;
    return OK;
}

int tokenizer_encode(const Tokenizer *tok, const unsigned char *text, size_t bytes,
                     uint16_t **ids_out, long *count_out) {
    *ids_out = NULL;
    *count_out = 0;
    const BpeOutside *outside = tok->outside;
    unsigned char *spaced = NULL;
    if (outside && outside->prefix_space && bytes && text[0] != ' ') {   /* as HF's add_prefix_space */
        if (!(spaced = malloc(bytes + 1))) return error_set(ERR_FAILURE, "out of memory encoding text");
        spaced[0] = ' ';
        memcpy(spaced + 1, text, bytes);
        text = spaced, bytes++;
    }
    size_t (*chunk_length)(const unsigned char *, size_t) =
        outside && outside->split == BPE_SPLIT_GPT2 ? gpt2_chunk_length : bpe_chunk_length;
    ChunkCache cache = {0};
    size_t capacity = bytes / 3 + BPE_CHUNK_MAX, count = 0;
    uint16_t *ids = malloc(capacity * sizeof *ids);
    int rc = ids ? cache_rehash(&cache) : error_set(ERR_FAILURE, "out of memory encoding text");
    Progress progress;
    progress_begin_after(&progress, "encoding", (double)bytes, 5);
    for (size_t position = 0, chunks = 0; position < bytes && !rc; chunks++) {
        if (chunks % 4096 == 0) progress_update(&progress, (double)position, "");
        size_t length = chunk_length(text + position, bytes - position);
        rc = reserve_output(&ids, &capacity, count, length);
        if (rc) break;
        uint64_t hash = checksum_bytes(text + position, length);
        /* the cache keeps chunks of up to 255 bytes (GPT-2's split has no cap) */
        CacheSlot *slot = length <= 255 ? cache_find(&cache, text, position, length, hash) : NULL;
        if (slot && slot->length) {
            memcpy(ids + count, cache.ids + slot->first_id, slot->n_ids * sizeof *ids);
            count += slot->n_ids;
        } else {
            int n = 0;
            if (outside) rc = encode_outside_word(tok, text + position, length, position - (spaced != NULL), ids + count, &n);
            else n = encode_chunk(tok, text + position, length, ids + count);
            if (!rc && slot) rc = cache_store(&cache, slot, hash, position, length, ids + count, n);
            count += (size_t)n;
        }
        position += length;
    }
    progress_end(&progress);
    cache_free(&cache);
    free(spaced);
    if (rc) {
        free(ids);
        return rc;
    }
    *ids_out = ids;
    *count_out = (long)count;
    return OK;
}

int tokenizer_decode(const Tokenizer *tok, const uint16_t *ids, long count, char **text,
                     size_t *bytes) {
    *text = NULL;
    *bytes = 0;
    size_t total = 0;
    for (long i = 0; i < count; i++) {
        if (ids[i] >= tok->vocab_size)
            return error_set(ERR_INPUT, "token id %d at position %ld is out of range (vocab %d)",
                             ids[i], i, tok->vocab_size);
        total += tok->lengths[ids[i]];
    }
    char *out = malloc(total + 1);
    if (!out) return error_set(ERR_FAILURE, "out of memory decoding %ld tokens", count);
    size_t at = 0;
    for (long i = 0; i < count; i++) {
        memcpy(out + at, tok->bytes + tok->offsets[ids[i]], tok->lengths[ids[i]]);
        at += tok->lengths[ids[i]];
    }
    out[total] = 0;
    *text = out;
    *bytes = total;
    return OK;
}

/* ---- file ---- */

static uint64_t file_checksum(const unsigned char *file, size_t size) {
    uint64_t sum = checksum_update(CHECKSUM_SEED, file, 24);
    return checksum_update(sum, file + HEADER_BYTES, size - HEADER_BYTES);
}

/* An outside tokenizer is saved as the tokenizer.json it was read from, byte for byte. */
static int save_outside(const Tokenizer *tok, const char *path) {
    AtomicFile af;
    int rc = atomic_open(&af, path);
    if (rc) return rc;
    rc = atomic_write(&af, tok->outside->json, tok->outside->json_bytes);
    if (rc) atomic_abort(&af);
    return rc ? rc : atomic_commit(&af);
}

int tokenizer_save(const Tokenizer *tok, const char *path) {
    if (tok->outside) return save_outside(tok, path);
    size_t size = HEADER_BYTES + 4 * (size_t)tok->n_merges;
    unsigned char *file = calloc(1, size);
    if (!file) return error_set(ERR_FAILURE, "out of memory writing %s", path);
    memcpy(file, TOKENIZER_MAGIC, 8);
    store_u32(file + 8, TOKENIZER_VERSION);
    store_u32(file + 12, (uint32_t)tok->vocab_size);
    store_u32(file + 16, (uint32_t)tok->n_merges);
    for (int i = 0; i < tok->n_merges; i++) {
        unsigned char *m = file + HEADER_BYTES + 4 * (size_t)i;
        store_u16(m, tok->merges[i][0]);
        store_u16(m + 2, tok->merges[i][1]);
    }
    store_u64(file + 24, file_checksum(file, size));
    AtomicFile af;
    int rc = atomic_open(&af, path);
    if (!rc) {
        rc = atomic_write(&af, file, size);
        if (rc) atomic_abort(&af);
        else rc = atomic_commit(&af);
    }
    free(file);
    return rc;
}

/* Checks the header of a tokenizer file of size bytes; fills the merge count. */
static int check_header(const unsigned char *file, size_t size, const char *path, int *n_merges) {
    if (size < HEADER_BYTES)
        return error_set(ERR_INPUT, "%s: truncated tokenizer file (%zu bytes)", path, size);
    if (memcmp(file, TOKENIZER_MAGIC, 8))
        return error_set(ERR_INPUT, "%s: not a meki tokenizer file (bad magic)", path);
    uint32_t version = load_u32(file + 8), vocab = load_u32(file + 12);
    uint32_t merges = load_u32(file + 16);
    if (version != TOKENIZER_VERSION)
        return error_set(ERR_INPUT, "%s: unsupported tokenizer version %u", path, version);
    if (vocab < BPE_VOCAB_MIN || vocab > BPE_VOCAB_MAX || merges != vocab - BPE_BYTE_TOKENS ||
        load_u32(file + 20) != 0)
        return error_set(ERR_INPUT, "%s: corrupt tokenizer header (vocab %u, %u merges)", path,
                         vocab, merges);
    size_t expected = HEADER_BYTES + 4 * (size_t)merges;
    if (size != expected)
        return error_set(ERR_INPUT, "%s: %s tokenizer file (%zu bytes, expected %zu)", path,
                         size < expected ? "truncated" : "oversized", size, expected);
    if (load_u64(file + 24) != file_checksum(file, size))
        return error_set(ERR_INPUT, "%s: tokenizer checksum mismatch (corrupt file)", path);
    *n_merges = (int)merges;
    return OK;
}

int tokenizer_load(Tokenizer **out, const char *path) {
    *out = NULL;
    char *data;
    size_t size;
    int rc = read_file_max(path, TOKENIZER_MAX_JSON_BYTES, &data, &size);
    if (rc) return rc;
    if (size < 8 || memcmp(data, TOKENIZER_MAGIC, 8)) {   /* not ours: a tokenizer.json? */
        size_t at = 0;
        while (at < size && (data[at] == ' ' || data[at] == '\n' || data[at] == '\t' || data[at] == '\r')) at++;
        if (at < size && data[at] == '{') return tokenizer_hf_parse(out, data, size, path);
    }
    if (size > TOKENIZER_MAX_FILE_BYTES) {
        free(data);
        return error_set(ERR_INPUT, "%s: oversized tokenizer file (%zu bytes)", path, size);
    }
    const unsigned char *file = (const unsigned char *)data;
    int n_merges = 0;
    rc = check_header(file, size, path, &n_merges);
    uint16_t (*merges)[2] = rc ? NULL : malloc(((size_t)n_merges + 1) * sizeof *merges);
    if (!rc && !merges) rc = error_set(ERR_FAILURE, "out of memory reading %s", path);
    for (int i = 0; !rc && i < n_merges; i++) {
        const unsigned char *m = file + HEADER_BYTES + 4 * (size_t)i;
        merges[i][0] = load_u16(m);
        merges[i][1] = load_u16(m + 2);
    }
    if (!rc) rc = tokenizer_from_merges(out, (const uint16_t (*)[2])merges, n_merges, path);
    free(merges);
    free(data);
    return rc;
}

int tokenizer_file_hash(const char *path, uint64_t *out) {
    long long size = file_size(path);
    if (size > TOKENIZER_MAX_JSON_BYTES)   /* hashing a 3 GB file took minutes on a loaded machine */
        return error_set(ERR_INPUT, "%s: oversized tokenizer file (%lld bytes, at most %lld)", path, size,
                         (long long)TOKENIZER_MAX_JSON_BYTES);
    return file_content_hash(path, out);
}
