/* BPE training over unique chunks weighted by their counts.
 *
 * The text is split into chunks (bpe_chunk_length) and each distinct chunk becomes a
 * "word" with a count, so the Bible's ~1M chunks shrink to a few tens of thousands of
 * words. Pair counts live in a hash map; each pair remembers the words it occurs in,
 * so a merge rewrites only those words and updates the counts of the pairs around them.
 * The best pair comes from a max-heap with lazy deletion: stale entries (whose count
 * no longer matches) are dropped or re-pushed when they reach the top. */
#include "data/bpe.h"
#include "util/progress.h"
#include "util/error.h"
#include "util/rng.h"
#include "data/checksum.h"
#include <stdlib.h>
#include <string.h>

enum { CLASS_LETTER, CLASS_DIGIT, CLASS_SPACE, CLASS_OTHER };

static int byte_class(unsigned char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80) return CLASS_LETTER;
    if (c >= '0' && c <= '9') return CLASS_DIGIT;
    if (c == ' ' || (c >= '\t' && c <= '\r')) return CLASS_SPACE;
    return CLASS_OTHER;
}

size_t bpe_chunk_length(const unsigned char *text, size_t bytes) {
    size_t limit = bytes < BPE_CHUNK_MAX ? bytes : BPE_CHUNK_MAX;
    int kind = byte_class(text[0]);
    size_t i = 1;
    if (text[0] == ' ' && limit > 1 && byte_class(text[1]) != CLASS_SPACE) {
        kind = byte_class(text[1]);
        i = 2;
    }
    while (i < limit && byte_class(text[i]) == kind) i++;
    /* "  word": the space just before the word belongs to the word, as in GPT-2 */
    if (kind == CLASS_SPACE && i > 1 && i < bytes && text[i - 1] == ' ' &&
        byte_class(text[i]) != CLASS_SPACE)
        i--;
    return i;
}

typedef struct {
    size_t start;        /* first symbol in Trainer.symbols */
    int32_t length;      /* symbols left after the merges so far */
    uint32_t seen;       /* stamp of the merge that last visited it */
    int64_t count;       /* occurrences of the chunk in the text */
} Word;

typedef struct {
    int32_t a, b;
    uint32_t touched;    /* stamp of the merge that last listed it for a heap push */
    int64_t count;
    int32_t *words;      /* words that contain or once contained the pair; may repeat */
    size_t n_words, cap_words;
} Pair;

typedef struct {
    int64_t count;
    int32_t a, b, pair;
} HeapEntry;

typedef struct {
    uint64_t hash;
    size_t position;     /* first occurrence in the text */
    uint32_t length;
    int32_t word;        /* -1: empty slot */
} ChunkSlot;

typedef struct {
    int32_t *symbols;
    size_t n_symbols, cap_symbols;
    Word *words;
    size_t n_words, cap_words;
    Pair *pairs;
    size_t n_pairs, cap_pairs;
    uint64_t *map_keys;  /* (a << 32 | b) + 1, 0 when the slot is empty */
    int32_t *map_values;
    size_t map_mask;
    HeapEntry *heap;
    size_t heap_size, heap_cap;
    int32_t *touched;    /* pairs holding the new token, pushed once the merge is done */
    size_t n_touched, cap_touched;
    uint32_t stamp;
} Trainer;

static int out_of_memory(void) { return error_set(ERR_FAILURE, "out of memory training BPE"); }

/* Room for need elements of size bytes; NULL (array untouched) when memory runs out. */
static void *grow(void *array, size_t *cap, size_t need, size_t size) {
    if (need <= *cap) return array;
    size_t n = *cap ? *cap : 16;
    while (n < need) n *= 2;
    void *bigger = realloc(array, n * size);
    if (bigger) *cap = n;
    return bigger;
}

/* ---- chunk counting: distinct chunks become words ---- */

static int add_word(Trainer *t, const unsigned char *chunk, uint32_t length) {
    int32_t *symbols = grow(t->symbols, &t->cap_symbols, t->n_symbols + length, sizeof *symbols);
    if (!symbols) return out_of_memory();
    t->symbols = symbols;
    Word *words = grow(t->words, &t->cap_words, t->n_words + 1, sizeof *words);
    if (!words) return out_of_memory();
    t->words = words;
    Word *w = &t->words[t->n_words++];
    *w = (Word){.start = t->n_symbols, .length = (int32_t)length, .seen = 0, .count = 0};
    for (uint32_t i = 0; i < length; i++) t->symbols[t->n_symbols++] = chunk[i];
    return OK;
}

static int rehash_chunks(ChunkSlot **slots, size_t *mask) {
    size_t capacity = (*mask + 1) * 2;
    ChunkSlot *fresh = malloc(capacity * sizeof *fresh);
    if (!fresh) return out_of_memory();
    for (size_t i = 0; i < capacity; i++) fresh[i].word = -1;
    for (size_t i = 0; i <= *mask; i++) {
        if ((*slots)[i].word < 0) continue;
        size_t s = (*slots)[i].hash & (capacity - 1);
        while (fresh[s].word >= 0) s = (s + 1) & (capacity - 1);
        fresh[s] = (*slots)[i];
    }
    free(*slots);
    *slots = fresh;
    *mask = capacity - 1;
    return OK;
}

/* Words are numbered in order of first appearance, so the numbering is deterministic. */
static int count_chunks(Trainer *t, const unsigned char *text, size_t bytes) {
    size_t mask = (1u << 14) - 1;
    ChunkSlot *slots = malloc((mask + 1) * sizeof *slots);
    if (!slots) return out_of_memory();
    for (size_t i = 0; i <= mask; i++) slots[i].word = -1;
    int rc = OK;
    for (size_t position = 0; position < bytes && rc == OK;) {
        const unsigned char *chunk = text + position;
        uint32_t length = (uint32_t)bpe_chunk_length(chunk, bytes - position);
        uint64_t hash = checksum_bytes(chunk, length);
        size_t s = hash & mask;
        while (slots[s].word >= 0 && !(slots[s].hash == hash && slots[s].length == length &&
                                       !memcmp(text + slots[s].position, chunk, length)))
            s = (s + 1) & mask;
        if (slots[s].word < 0) {
            rc = add_word(t, chunk, length);
            if (rc) break;
            slots[s] = (ChunkSlot){hash, position, length, (int32_t)t->n_words - 1};
            if (t->n_words * 2 > mask + 1) rc = rehash_chunks(&slots, &mask);
            /* the slot may have moved; look the word up by index instead */
            t->words[t->n_words - 1].count++;
        } else {
            t->words[slots[s].word].count++;
        }
        position += length;
    }
    free(slots);
    return rc;
}

/* ---- pair map ---- */

static uint64_t pair_key(int32_t a, int32_t b) {
    return ((uint64_t)(uint32_t)a << 32 | (uint32_t)b) + 1;
}

static int rehash_pairs(Trainer *t) {
    size_t capacity = t->map_keys ? (t->map_mask + 1) * 2 : (1u << 16);
    uint64_t *keys = calloc(capacity, sizeof *keys);
    int32_t *values = malloc(capacity * sizeof *values);
    if (!keys || !values) {
        free(keys);
        free(values);
        return out_of_memory();
    }
    for (size_t i = 0; t->map_keys && i <= t->map_mask; i++) {
        if (!t->map_keys[i]) continue;
        size_t s = hash64(t->map_keys[i]) & (capacity - 1);
        while (keys[s]) s = (s + 1) & (capacity - 1);
        keys[s] = t->map_keys[i];
        values[s] = t->map_values[i];
    }
    free(t->map_keys);
    free(t->map_values);
    t->map_keys = keys;
    t->map_values = values;
    t->map_mask = capacity - 1;
    return OK;
}

/* Index of pair (a, b) in *index, created with count 0 when new. */
static int pair_get(Trainer *t, int32_t a, int32_t b, int32_t *index) {
    if (!t->map_keys || (t->n_pairs + 1) * 2 > t->map_mask + 1) {
        int rc = rehash_pairs(t);
        if (rc) return rc;
    }
    uint64_t key = pair_key(a, b);
    size_t s = hash64(key) & t->map_mask;
    while (t->map_keys[s] && t->map_keys[s] != key) s = (s + 1) & t->map_mask;
    if (t->map_keys[s]) {
        *index = t->map_values[s];
        return OK;
    }
    Pair *pairs = grow(t->pairs, &t->cap_pairs, t->n_pairs + 1, sizeof *pairs);
    if (!pairs) return out_of_memory();
    t->pairs = pairs;
    t->pairs[t->n_pairs] = (Pair){.a = a, .b = b};
    t->map_keys[s] = key;
    t->map_values[s] = (int32_t)t->n_pairs;
    *index = (int32_t)t->n_pairs++;
    return OK;
}

static int pair_add_word(Trainer *t, Pair *pair, int32_t word) {
    if (pair->n_words && pair->words[pair->n_words - 1] == word) return OK;
    int32_t *words = grow(pair->words, &pair->cap_words, pair->n_words + 1, sizeof *words);
    if (!words) return out_of_memory();
    pair->words = words;
    pair->words[pair->n_words++] = word;
    return OK;
}

/* ---- heap: highest count first, then the smallest (a, b) for a deterministic order ---- */

static int entry_before(const HeapEntry *x, const HeapEntry *y) {
    if (x->count != y->count) return x->count > y->count;
    if (x->a != y->a) return x->a < y->a;
    return x->b < y->b;
}

static int heap_push(Trainer *t, int32_t index) {
    HeapEntry *heap = grow(t->heap, &t->heap_cap, t->heap_size + 1, sizeof *heap);
    if (!heap) return out_of_memory();
    t->heap = heap;
    const Pair *p = &t->pairs[index];
    size_t i = t->heap_size++;
    HeapEntry e = {p->count, p->a, p->b, index};
    while (i > 0 && entry_before(&e, &heap[(i - 1) / 2])) {
        heap[i] = heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    heap[i] = e;
    return OK;
}

static HeapEntry heap_pop(Trainer *t) {
    HeapEntry *heap = t->heap, top = heap[0], last = heap[--t->heap_size];
    size_t i = 0, n = t->heap_size;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && entry_before(&heap[child + 1], &heap[child])) child++;
        if (!entry_before(&heap[child], &last)) break;
        heap[i] = heap[child];
        i = child;
    }
    if (n) heap[i] = last;
    return top;
}

/* The pair to merge next in *best, or -1 when no pair is left. An entry whose count
 * is above the pair's current count is re-pushed with the current count; one below it
 * is dropped, because every increase pushed a fresh entry. */
static int pop_best(Trainer *t, int32_t *best) {
    *best = -1;
    while (t->heap_size) {
        HeapEntry e = heap_pop(t);
        const Pair *p = &t->pairs[e.pair];
        if (p->count <= 0 || e.count < p->count) continue;
        if (e.count == p->count) {
            *best = e.pair;
            return OK;
        }
        int rc = heap_push(t, e.pair);
        if (rc) return rc;
    }
    return OK;
}

/* ---- merging ---- */

static int init_pairs(Trainer *t) {
    for (size_t w = 0; w < t->n_words; w++) {
        const Word *word = &t->words[w];
        const int32_t *s = t->symbols + word->start;
        for (int32_t i = 0; i + 1 < word->length; i++) {
            int32_t index;
            int rc = pair_get(t, s[i], s[i + 1], &index);
            if (!rc) rc = pair_add_word(t, &t->pairs[index], (int32_t)w);
            if (rc) return rc;
            t->pairs[index].count += word->count;
        }
    }
    for (size_t p = 0; p < t->n_pairs; p++) {
        int rc = heap_push(t, (int32_t)p);
        if (rc) return rc;
    }
    return OK;
}

/* Adds delta times the word's count to each of its pairs; pairs holding new_id get the
 * word in their list and are noted for a heap push (their counts only grow). */
static int update_word_pairs(Trainer *t, int32_t w, int64_t delta, int32_t new_id) {
    const Word *word = &t->words[w];
    const int32_t *s = t->symbols + word->start;
    for (int32_t i = 0; i + 1 < word->length; i++) {
        int32_t index;
        int rc = pair_get(t, s[i], s[i + 1], &index);
        if (rc) return rc;
        Pair *pair = &t->pairs[index];
        pair->count += delta * word->count;
        if (new_id < 0 || (s[i] != new_id && s[i + 1] != new_id)) continue;
        rc = pair_add_word(t, pair, w);
        if (rc) return rc;
        if (pair->touched == t->stamp) continue;
        pair->touched = t->stamp;
        int32_t *touched = grow(t->touched, &t->cap_touched, t->n_touched + 1, sizeof *touched);
        if (!touched) return out_of_memory();
        t->touched = touched;
        t->touched[t->n_touched++] = index;
    }
    return OK;
}

/* Rewrites one word, replacing each (a, b) left to right by new_id. */
static int merge_word(Trainer *t, int32_t w, int32_t a, int32_t b, int32_t new_id) {
    Word *word = &t->words[w];
    int32_t *s = t->symbols + word->start;
    int32_t n = word->length, found = 0;
    for (int32_t i = 0; i + 1 < n && !found; i++) found = s[i] == a && s[i + 1] == b;
    if (!found) return OK;   /* a stale list entry: an earlier merge took the pair */
    int rc = update_word_pairs(t, w, -1, -1);
    if (rc) return rc;
    int32_t m = 0;
    for (int32_t i = 0; i < n;) {
        if (i + 1 < n && s[i] == a && s[i + 1] == b) {
            s[m++] = new_id;
            i += 2;
        } else {
            s[m++] = s[i++];
        }
    }
    word->length = m;
    return update_word_pairs(t, w, 1, new_id);
}

static int apply_merge(Trainer *t, int32_t index, int32_t new_id) {
    Pair *pair = &t->pairs[index];
    int32_t a = pair->a, b = pair->b;
    /* Detach the word list: no pair gains (a, b) while we merge, only pairs with new_id. */
    int32_t *words = pair->words;
    size_t n_words = pair->n_words;
    pair->words = NULL;
    pair->n_words = pair->cap_words = 0;
    t->n_touched = 0;
    int rc = OK;
    for (size_t i = 0; i < n_words && !rc; i++) {
        Word *word = &t->words[words[i]];
        if (word->seen == t->stamp) continue;
        word->seen = t->stamp;
        rc = merge_word(t, words[i], a, b, new_id);
    }
    free(words);
    for (size_t i = 0; i < t->n_touched && !rc; i++) rc = heap_push(t, t->touched[i]);
    return rc;
}

static void trainer_free(Trainer *t) {
    for (size_t p = 0; p < t->n_pairs; p++) free(t->pairs[p].words);
    free(t->pairs);
    free(t->symbols);
    free(t->words);
    free(t->map_keys);
    free(t->map_values);
    free(t->heap);
    free(t->touched);
}

int bpe_learn_merges(const unsigned char *text, size_t bytes, int n_merges, uint16_t (*merges)[2],
                     int *learned) {
    Trainer t = {0};
    int m = 0;
    int rc = count_chunks(&t, text, bytes);
    if (!rc) rc = init_pairs(&t);
    Progress progress;
    progress_begin_after(&progress, "BPE merges", n_merges, 5);
    while (!rc && m < n_merges) {
        progress_update(&progress, m, "");
        int32_t best;
        rc = pop_best(&t, &best);
        if (rc || best < 0) break;
        merges[m][0] = (uint16_t)t.pairs[best].a;
        merges[m][1] = (uint16_t)t.pairs[best].b;
        t.stamp = (uint32_t)m + 1;
        rc = apply_merge(&t, best, BPE_BYTE_TOKENS + m);
        m++;
    }
    progress_update(&progress, n_merges, "");
    progress_end(&progress);
    *learned = m;
    trainer_free(&t);
    return rc;
}
