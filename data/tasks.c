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

static void add_item(Task *task, int *capacity, TaskItem item) {
    if (task->count == *capacity) task->items = realloc(task->items, sizeof(TaskItem) * (*capacity = *capacity * 2 + 16));
    task->items[task->count++] = item;
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
        item.context_len = encode_context(tok, text, word_start - 1, max_context - item.option_len[0], &item.context);
        if (item.context_len < 8) { free(item.context); free(item.options[0]); short_context++; continue; }
        add_item(task, &capacity, item);
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
        item.context_len = encode_context(tok, text, s[i].end, max_context - task_item_longest(&item), &item.context);
        if (item.context_len < 8) {
            free(item.context);
            for (int k = 0; k < 4; k++) free(item.options[k]);
            short_context++;
            continue;
        }
        add_item(task, &capacity, item);
    }
    if (task->count < max_items)
        snprintf(task->shortfall, sizeof task->shortfall, "1 in %d of %d held-out sentences tried: "
                 "%d not directly followed by the next, %d whose options leave under 8 tokens of context",
                 stride, n - 2, not_next, short_context);
    free(s);
    if (!task->count) return error_set(ERR_INPUT, "held-out text too short to build the choice task");
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
