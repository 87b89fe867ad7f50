/* Zero-shot tasks built deterministically from the held-out text (val.txt), scored by
 * log-likelihood as lm-evaluation-harness does:
 *  - cloze (LAMBADA-style): predict the last word of a sentence from the text before it;
 *    correct when every token of the word is the model's greedy choice.
 *  - choice (HellaSwag-style): the true next sentence against 3 sentences taken from
 *    elsewhere in the held-out text, each after the white space that really follows the
 *    context; the highest length-normalised log-likelihood wins.
 *  - word (2-way next word): at an occurrence of one of the held-out text's most frequent
 *    words, that word against another occurrence's word drawn from the same pool (so both
 *    options are equally frequent in expectation), each with its leading space; the higher
 *    log-likelihood wins. Chance is 1/2; a model that uses the context beats it. */
#ifndef DATA_TASKS_H
#define DATA_TASKS_H
#include "data/tokenizer.h"
#include <stdint.h>

typedef struct {
    uint16_t *context;          /* token ids */
    int context_len;
    uint16_t *options[4];       /* continuations; cloze uses options[0] only */
    int option_len[4];
    int option_bytes[4];        /* for per-byte normalisation */
    int n_options, answer;
} TaskItem;

typedef struct {
    char name[32];
    TaskItem *items;
    int count;
    int requested;              /* max_items asked for */
    char shortfall[192];        /* why count < requested ("" when it is not) */
} Task;

/* Builds up to max_items of each task from text; contexts keep at most max_context tokens
 * (the end of the passage). ERR_INPUT if the text is too short for any item. */
int task_build_cloze(Task *task, const Tokenizer *tok, const char *text, size_t bytes,
                     int max_items, int max_context);
int task_build_choice(Task *task, const Tokenizer *tok, const char *text, size_t bytes,
                      int max_items, int max_context);
/* The word task's pool: the most frequent word types of the held-out text. */
#define TASK_WORD_TYPES 100
int task_build_word(Task *task, const Tokenizer *tok, const char *text, size_t bytes,
                    int max_items, int max_context);
/* Tokens in the item's longest option. */
int task_item_longest(const TaskItem *item);
void task_free(Task *task);
#endif
