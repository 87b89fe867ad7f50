#include "data/tasks.h"
#include "util/error.h"
#include "util/rng.h"
#include <ctype.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

typedef struct { size_t start, end; } Span;   /* a sentence: text[start, end) */

/* Sentences end at . ? ! followed by white space; leading space and newlines are skipped.
 * Returns the count; spans is malloc'd. */
static int split_sentences(const char *text, size_t bytes, Span **spans) {
    int count = 0, capacity = 1024;
    *spans = malloc(sizeof(Span) * capacity);
    size_t start = 0;
    for (size_t i = 0; i < bytes; i++) {
        int end = (text[i] == '.' || text[i] == '?' || text[i] == '!') &&
                  (i + 1 == bytes || isspace((unsigned char)text[i + 1]));
        if (!end) continue;
        while (start < i && isspace((unsigned char)text[start])) start++;
        if (i + 1 - start >= 20) {
            if (count == capacity) *spans = realloc(*spans, sizeof(Span) * (capacity *= 2));
            (*spans)[count++] = (Span){start, i + 1};
        }
        start = i + 1;
    }
    return count;
}

static int encode(const Tokenizer *tok, const char *s, size_t n, uint16_t **ids) {
    long count = 0;
    if (tokenizer_encode(tok, (const unsigned char *)s, n, ids, &count)) return -1;
    return (int)count;
}

/* Keeps the last max_context tokens of text[0, end). */
static int encode_context(const Tokenizer *tok, const char *text, size_t end, int max_context,
                          uint16_t **ids) {
    *ids = NULL;
    if (max_context < 8) return 0;   /* the continuation leaves no room: the caller skips */
    size_t from = end > (size_t)max_context * 8 ? end - (size_t)max_context * 8 : 0;
    uint16_t *all;
    int n = encode(tok, text + from, end - from, &all);
    if (n <= max_context) { *ids = all; return n; }
    *ids = malloc(sizeof(uint16_t) * max_context);
    memcpy(*ids, all + n - max_context, sizeof(uint16_t) * max_context);
    free(all);
    return max_context;
}

/* The item with the context before byte end of text, as many tokens as fit beside its
 * longest option, joins the task; with under 8 tokens of context it is freed instead.
 * Returns 1 when added, 0 when dropped. */
static int add_with_context(Task *task, int *capacity, TaskItem item, const Tokenizer *tok, const char *text,
                            size_t end, int max_context) {
    item.context_len = encode_context(tok, text, end, max_context - task_item_longest(&item), &item.context);
    if (item.context_len < 8) {
        free(item.context);
        for (int k = 0; k < item.n_options; k++) free(item.options[k]);
        return 0;
    }
    if (task->count == *capacity) task->items = realloc(task->items, sizeof(TaskItem) * (*capacity = *capacity * 2 + 16));
    task->items[task->count++] = item;
    return 1;
}

/* Picks up to max_items of n candidates, evenly spaced so the items cover the whole text. */
static int stride_for(int n, int max_items) { return n > max_items ? n / max_items : 1; }

int task_build_cloze(Task *task, const Tokenizer *tok, const char *text, size_t bytes,
                     int max_items, int max_context) {
    memset(task, 0, sizeof *task);
    strcpy(task->name, "cloze");
    Span *s;
    int n = split_sentences(text, bytes, &s), capacity = 0, stride = stride_for(n, max_items);
    int no_word = 0, short_context = 0;
    task->requested = max_items;
    for (int i = 1; i < n && task->count < max_items; i += stride) {
        /* the last word: letters only, at least 4 of them, just before the terminator */
        size_t end = s[i].end - 1, word_end = end;
        while (word_end > s[i].start && !isalpha((unsigned char)text[word_end - 1])) word_end--;
        size_t word_start = word_end;
        while (word_start > s[i].start && isalpha((unsigned char)text[word_start - 1])) word_start--;
        if (word_end - word_start < 4 || word_start == s[i].start || text[word_start - 1] != ' ') {
            no_word++;
            continue;
        }
        TaskItem item = {0};
        item.n_options = 1;
        /* the continuation keeps its leading space, as LAMBADA's target does */
        item.option_len[0] = encode(tok, text + word_start - 1, word_end - word_start + 1, &item.options[0]);
        item.option_bytes[0] = (int)(word_end - word_start + 1);
        if (!add_with_context(task, &capacity, item, tok, text, word_start - 1, max_context)) short_context++;
    }
    if (task->count < max_items)
        snprintf(task->shortfall, sizeof task->shortfall, "1 in %d of %d held-out sentences tried: "
                 "%d without a last word of 4+ letters, %d whose options leave under 8 tokens of context",
                 stride, n - 1, no_word, short_context);
    free(s);
    if (!task->count) return error_set(ERR_INPUT, "held-out text too short to build the cloze task");
    return OK;
}

int task_build_choice(Task *task, const Tokenizer *tok, const char *text, size_t bytes,
                      int max_items, int max_context) {
    memset(task, 0, sizeof *task);
    strcpy(task->name, "choice");
    Span *s;
    int n = split_sentences(text, bytes, &s), capacity = 0;
    if (n < 8) { free(s); return error_set(ERR_INPUT, "held-out text too short to build the choice task"); }
    int stride = stride_for(n - 1, max_items), not_next = 0, short_context = 0;
    task->requested = max_items;
    Rng rng;
    rng_seed(&rng, 20260203);
    for (int i = 1; i + 1 < n && task->count < max_items; i += stride) {
        /* every option starts with the white space that really follows sentence i ("\n" between
         * verses), so the options differ only in the sentence; when a skipped short sentence
         * lies between i and i + 1, the latter is not the true continuation: no item */
        size_t gap = s[i + 1].start - s[i].end;
        int contiguous = gap > 0 && gap <= 8;
        for (size_t g = s[i].end; contiguous && g < s[i + 1].start; g++) contiguous = isspace((unsigned char)text[g]);
        if (!contiguous) {
            not_next++;
            continue;
        }
        TaskItem item = {0};
        item.n_options = 4;
        item.answer = (int)rng_below(&rng, 4);
        for (int k = 0; k < 4; k++) {
            int j = i + 1;
            if (k != item.answer) {   /* a distractor from far away, not the true one */
                do j = (int)rng_below(&rng, (uint64_t)n); while (abs(j - i) < 3);
            }
            size_t len = s[j].end - s[j].start;
            char *piece = malloc(gap + len);
            memcpy(piece, text + s[i].end, gap);
            memcpy(piece + gap, text + s[j].start, len);
            item.option_len[k] = encode(tok, piece, gap + len, &item.options[k]);
            item.option_bytes[k] = (int)(gap + len);
            free(piece);
        }
        if (!add_with_context(task, &capacity, item, tok, text, s[i].end, max_context)) short_context++;
    }
    if (task->count < max_items)
        snprintf(task->shortfall, sizeof task->shortfall, "1 in %d of %d held-out sentences tried: "
                 "%d not directly followed by the next, %d whose options leave under 8 tokens of context",
                 stride, n - 2, not_next, short_context);
    free(s);
    if (!task->count) return error_set(ERR_INPUT, "held-out text too short to build the choice task");
    return OK;
}

typedef struct { size_t start, end; int type; } Word;   /* text[start, end), its type in the list */

/* Words (runs of letters after a space) of text, each with its type's index; types[] holds
 * each type's first occurrence and count[] its frequency. Returns the number of words. */
static int split_words(const char *text, size_t bytes, Word **words, Word **types, int **count, int *n_types) {
    int n = 0, cap = 1024, tcap = 256;
    *words = malloc(sizeof(Word) * cap);
    *types = malloc(sizeof(Word) * tcap);
    *count = malloc(sizeof(int) * tcap);
    *n_types = 0;
    for (size_t i = 1; i < bytes; i++) {
        if (!isalpha((unsigned char)text[i]) || text[i - 1] != ' ') continue;
        size_t end = i;
        while (end < bytes && isalpha((unsigned char)text[end])) end++;
        int t = 0;   /* linear search: a held-out split has a few thousand types */
        while (t < *n_types && !((*types)[t].end - (*types)[t].start == end - i &&
                                 !memcmp(text + (*types)[t].start, text + i, end - i))) t++;
        if (t == *n_types) {
            if (t == tcap) { *types = realloc(*types, sizeof(Word) * (tcap *= 2)); *count = realloc(*count, sizeof(int) * tcap); }
            (*types)[t] = (Word){i, end, t};
            (*count)[t] = 0;
            ++*n_types;
        }
        ++(*count)[t];
        if (n == cap) *words = realloc(*words, sizeof(Word) * (cap *= 2));
        (*words)[n++] = (Word){i, end, t};
        i = end;
    }
    return n;
}

int task_build_word(Task *task, const Tokenizer *tok, const char *text, size_t bytes,
                    int max_items, int max_context) {
    memset(task, 0, sizeof *task);
    strcpy(task->name, "word");
    task->requested = max_items;
    Word *words, *types;
    int *count, n_types, n = split_words(text, bytes, &words, &types, &count, &n_types);
    /* the frequent types: the TASK_WORD_TYPES most frequent (ties by first occurrence) */
    char *frequent = calloc((size_t)n_types + 1, 1);
    for (int k = 0; k < TASK_WORD_TYPES && k < n_types; k++) {
        int best = -1;
        for (int t = 0; t < n_types; t++)
            if (!frequent[t] && (best < 0 || count[t] > count[best])) best = t;
        frequent[best] = 1;
    }
    int *pool = malloc(sizeof(int) * (n + 1)), n_pool = 0;   /* occurrences of frequent words */
    for (int i = 0; i < n; i++)
        if (frequent[words[i].type]) pool[n_pool++] = i;
    Rng rng;
    rng_seed(&rng, 20260204);
    int capacity = 0, stride = stride_for(n_pool, max_items), short_context = 0, tried = 0;
    for (int p = 1; n_pool > 1 && p < n_pool && task->count < max_items; p += stride) {
        const Word *w = &words[pool[p]], *other;
        tried++;
        /* the distractor is another occurrence drawn from the same pool, so the two options
         * have the same word frequencies in expectation: only the context tells them apart */
        int guard = 0;
        do other = &words[pool[rng_below(&rng, (uint64_t)n_pool)]];
        while (other->type == w->type && ++guard < 1000);
        if (other->type == w->type) break;
        TaskItem item = {0};
        item.n_options = 2;
        item.answer = (int)rng_below(&rng, 2);
        for (int k = 0; k < 2; k++) {
            const Word *o = k == item.answer ? w : other;
            /* with its leading space, as the cloze's target */
            item.option_len[k] = encode(tok, text + o->start - 1, o->end - o->start + 1, &item.options[k]);
            item.option_bytes[k] = (int)(o->end - o->start + 1);
        }
        if (!add_with_context(task, &capacity, item, tok, text, w->start - 1, max_context)) short_context++;
    }
    if (task->count < max_items)
        snprintf(task->shortfall, sizeof task->shortfall, "1 in %d of %d occurrences of the %d most frequent "
                 "words tried (%d): %d whose options leave under 8 tokens of context",
                 stride, n_pool, TASK_WORD_TYPES, tried, short_context);
    free(words); free(types); free(count); free(frequent); free(pool);
    if (!task->count) return error_set(ERR_INPUT, "held-out text too short to build the word task");
    return OK;
}

int task_item_longest(const TaskItem *item) {
    int longest = 0;
    for (int k = 0; k < item->n_options; k++) longest = item->option_len[k] > longest ? item->option_len[k] : longest;
    return longest;
}

void task_free(Task *task) {
    for (int i = 0; i < task->count; i++) {
        free(task->items[i].context);
        for (int k = 0; k < task->items[i].n_options; k++) free(task->items[i].options[k]);
    }
    free(task->items);
    memset(task, 0, sizeof *task);
}
