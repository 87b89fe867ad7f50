/* GPT-2's pre-tokenizer regex, as Hugging Face's ByteLevel (use_regex) runs it:
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * matched by hand, alternative by alternative. \p{L} and \p{N} are Unicode's general
 * categories L* and N* (data/unicode_classes.inc); \s is Unicode's White_Space, as in
 * Oniguruma. A byte that does not start valid UTF-8 counts as one "other" character. */
#include "data/bpe.h"
#include <stdint.h>

#include "data/unicode_classes.inc"

enum { CH_LETTER, CH_NUMBER, CH_SPACE, CH_OTHER };

static int in_ranges(const uint32_t (*r)[2], int n, uint32_t cp) {
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (cp < r[mid][0]) hi = mid - 1;
        else if (cp > r[mid][1]) lo = mid + 1;
        else return 1;
    }
    return 0;
}

static int white_space(uint32_t cp) {
    return (cp >= 0x9 && cp <= 0xd) || cp == 0x20 || cp == 0x85 || cp == 0xa0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f ||
           cp == 0x205f || cp == 0x3000;
}

/* The character at text[0] (bytes > 0): its class, and its length in *n. */
static int char_class(const unsigned char *p, size_t bytes, int *n) {
    int len = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;
    uint32_t cp = len == 1 ? *p : len == 2 ? *p & 0x1fu : len == 3 ? *p & 0x0fu : *p & 0x07u;
    for (int i = 1; i < len; i++) {
        if ((size_t)i >= bytes || (p[i] & 0xc0) != 0x80) { len = 0; break; }
        cp = cp << 6 | (p[i] & 0x3fu);
    }
    static const uint32_t least[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (!len || cp < least[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        *n = 1;
        return CH_OTHER;
    }
    *n = len;
    if (white_space(cp)) return CH_SPACE;
    if (in_ranges(UNICODE_LETTERS, (int)(sizeof UNICODE_LETTERS / sizeof UNICODE_LETTERS[0]), cp)) return CH_LETTER;
    if (in_ranges(UNICODE_NUMBERS, (int)(sizeof UNICODE_NUMBERS / sizeof UNICODE_NUMBERS[0]), cp)) return CH_NUMBER;
    return CH_OTHER;
}

/* Bytes of the run of class cls starting at text[at]. */
static size_t run_of(const unsigned char *text, size_t bytes, size_t at, int cls) {
    size_t start = at;
    int n;
    while (at < bytes && char_class(text + at, bytes - at, &n) == cls) at += (size_t)n;
    return at - start;
}

size_t gpt2_chunk_length(const unsigned char *text, size_t bytes) {
    if (text[0] == '\'' && bytes >= 2) {
        static const char *const tails[] = {"s", "t", "re", "ve", "m", "ll", "d"};
        for (int i = 0; i < 7; i++) {
            size_t n = tails[i][1] ? 2 : 1;
            if (bytes >= 1 + n && text[1] == (unsigned char)tails[i][0] && (n == 1 || text[2] == (unsigned char)tails[i][1]))
                return 1 + n;
        }
    }
    int n, cls = char_class(text, bytes, &n);
    /* " ?X+" for X letter, number, other: a space joins the run that follows it */
    if (text[0] == ' ' && bytes > 1) {
        int next_n, next = char_class(text + 1, bytes - 1, &next_n);
        if (next != CH_SPACE) return 1 + run_of(text, bytes, 1, next);
    }
    if (cls != CH_SPACE) return run_of(text, bytes, 0, cls);
    /* \s+(?!\S): the run, less its last character when a non-space follows; else \s+ */
    size_t run = 0, last = 0;
    while (run < bytes && char_class(text + run, bytes - run, &n) == CH_SPACE) last = (size_t)n, run += (size_t)n;
    if (run < bytes && run > last) return run - last;
    return run;
}
