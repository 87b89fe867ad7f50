#include "data/tokenizer_json.h"
#include "data/bpe.h"
#include "util/error.h"
#include "util/fileio.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* GPT-2's byte -> character table: printable bytes stand for themselves, the others
 * take the code points from 256 on, in byte order. */
static unsigned byte_char(int b) {
    int printable = (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    if (printable) return (unsigned)b;
    unsigned n = 0;
    for (int i = 0; i < b; i++)
        if (!((i >= '!' && i <= '~') || (i >= 0xa1 && i <= 0xac) || (i >= 0xae && i <= 0xff))) n++;
    return 256 + n;
}

static size_t put_utf8(char *out, unsigned cp) {
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    out[0] = (char)(0xc0 | cp >> 6);
    out[1] = (char)(0x80 | (cp & 0x3f));
    return 2;                                           /* every code point here is < 0x800 */
}

int tokenizer_token_string(const Tokenizer *tok, int id, char *out, size_t size) {
    int length;
    const unsigned char *bytes = tokenizer_token_bytes(tok, id, &length);
    if (!bytes || (size_t)length * 2 + 1 > size) return -1;
    size_t at = 0;
    for (int i = 0; i < length; i++) at += put_utf8(out + at, byte_char(bytes[i]));
    out[at] = 0;
    return (int)at;
}

size_t tokenizer_string_room(const Tokenizer *tok) {
    int V = tokenizer_vocab_size(tok), longest = (int)sizeof TOKENIZER_EOS_TEXT;
    for (int id = 0; id < V; id++) {
        int length;
        if (tokenizer_token_bytes(tok, id, &length) && length > longest) longest = length;
    }
    return 2 * (size_t)longest + 1;
}

int tokenizer_eos_id(const Tokenizer *tok) {
    size_t bytes;
    if (tokenizer_outside_json(tok, &bytes)) return -1;   /* its added tokens are its own */
    for (int i = 0; i + 256 < tokenizer_vocab_size(tok); i++) {
        int left, right, length;
        if (tokenizer_merge_pair(tok, i, &left, &right) || left == 0xff || right == 0xff) return -1;
        /* a learned token spelling the marker would be a second vocabulary key of that name */
        const unsigned char *b = tokenizer_token_bytes(tok, 256 + i, &length);
        if (length == (int)strlen(TOKENIZER_EOS_TEXT) && !memcmp(b, TOKENIZER_EOS_TEXT, (size_t)length)) return -1;
    }
    return 0xff;
}

int tokenizer_export_string(const Tokenizer *tok, int eos, int id, char *out, size_t size) {
    if (id == eos && eos >= 0) return snprintf(out, size, "%s", TOKENIZER_EOS_TEXT) < (int)size ? (int)strlen(out) : -1;
    return tokenizer_token_string(tok, id, out, size);
}

const char *tokenizer_gpt2_split_differs(const Tokenizer *tok) {
    for (int id = 256; id < tokenizer_vocab_size(tok); id++) {
        int length, space = 1;
        const unsigned char *b = tokenizer_token_bytes(tok, id, &length);
        for (int i = 0; i < length; i++) space &= b[i] == ' ' || (b[i] >= '\t' && b[i] <= '\r');
        if (space && length > 1)
            return "it holds whitespace runs (as \"\\n\\n\"), which GPT-2 splits before a word";
        for (int i = 0; i < length; i++)
            if (b[i] >= 0x80) return "it holds non-ASCII tokens, which GPT-2 classes by Unicode, the harness as letters";
        if (length >= BPE_CHUNK_MAX) return "it holds 64-byte tokens, the harness's chunk cap, which GPT-2 does not have";
    }
    return NULL;
}

/* data/bpe.c's byte classes, over the byte characters. */
enum { C_LETTER, C_DIGIT, C_SPACE, C_OTHER };
static int byte_class(int c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80) return C_LETTER;
    if (c >= '0' && c <= '9') return C_DIGIT;
    if (c == ' ' || (c >= '\t' && c <= '\r')) return C_SPACE;
    return C_OTHER;
}

/* "[...]" of the characters of one class, as \uXXXX escapes and ranges (JSON text:
 * backslashes doubled), so that both Oniguruma and JavaScript read it alike. */
static size_t class_text(char *out, int cls, int negate) {
    int in[0x200] = {0};
    for (int b = 0; b < 256; b++)
        if (byte_class(b) == cls) in[byte_char(b)] = 1;
    size_t at = (size_t)sprintf(out, "[%s", negate ? "^" : "");
    for (int cp = 0; cp < 0x200; cp++) {
        if (!in[cp]) continue;
        int end = cp;
        while (end + 1 < 0x200 && in[end + 1]) end++;
        at += (size_t)sprintf(out + at, "\\\\u%04X", cp);
        if (end > cp) at += (size_t)sprintf(out + at, "-\\\\u%04X", end);
        cp = end;
    }
    return at + (size_t)sprintf(out + at, "]");
}

/* bpe_chunk_length as one regex, alternatives in its order: an optional leading space
 * joined to a run of one class (64 bytes at most in all); else a whitespace run that
 * leaves its last space to a following non-space; else a whitespace run. */
static void split_regex_json(char *out) {
    char letter[2048], digit[256], other[1024], space[256], not_space[256];
    class_text(letter, C_LETTER, 0);
    class_text(digit, C_DIGIT, 0);
    class_text(other, C_OTHER, 0);
    class_text(space, C_SPACE, 0);
    class_text(not_space, C_SPACE, 1);
    const char *sp = "\\\\u0120";                      /* the space's character */
    sprintf(out, "%s%s{1,63}|%s{1,64}|%s%s{1,63}|%s{1,64}|%s%s{1,63}|%s{1,64}|%s{1,64}(?=%s%s)|%s{1,64}",
            sp, letter, letter, sp, digit, digit, sp, other, other, space, sp, not_space, space);
}

const char *tokenizer_split_regex(void) {
    static char text[8192];
    split_regex_json(text);
    return text;
}

/* JSON string body of a token string: escape quote and backslash (the only ASCII
 * specials among byte characters: control bytes map above 255). */
static void put_json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static int write_tokenizer_json(const Tokenizer *tok, const char *path) {
    size_t room = tokenizer_string_room(tok);
    char regex[8192], *a = malloc(room), *b = malloc(room);
    AtomicFile af;
    if (!a || !b) {
        free(a), free(b);
        return error_set(ERR_FAILURE, "out of memory writing %s", path);
    }
    if (atomic_open(&af, path)) {
        free(a), free(b);
        return ERR_FAILURE;
    }
    FILE *f = af.file;
    int eos = tokenizer_eos_id(tok);
    split_regex_json(regex);
    fputs("{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,\"added_tokens\":[", f);
    if (eos >= 0)
        fprintf(f, "{\"id\":%d,\"content\":\"%s\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,"
                   "\"normalized\":false,\"special\":true}", eos, TOKENIZER_EOS_TEXT);
    fprintf(f, "],"
               "\"normalizer\":null,\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":["
               "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":false,\"use_regex\":false},"
               "{\"type\":\"Split\",\"pattern\":{\"Regex\":\"%s\"},\"behavior\":\"Isolated\",\"invert\":false}]},"
               "\"post_processor\":null,"
               "\"decoder\":{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":false,\"use_regex\":false},"
               "\"model\":{\"type\":\"BPE\",\"dropout\":null,\"unk_token\":null,\"continuing_subword_prefix\":null,"
               "\"end_of_word_suffix\":null,\"fuse_unk\":false,\"byte_fallback\":false,\"ignore_merges\":false,"
               "\"vocab\":{", regex);
    int V = tokenizer_vocab_size(tok), rc = OK;
    for (int id = 0; id < V && !rc; id++) {
        if (tokenizer_export_string(tok, eos, id, a, room) < 0)
            rc = error_set(ERR_INPUT, "%s: token %d cannot be written", path, id);
        fputs(id ? "," : "", f);
        put_json_string(f, a);
        fprintf(f, ":%d", id);
    }
    fputs("},\"merges\":[", f);
    for (int i = 0; i + 256 < V && !rc; i++) {
        int left, right;
        rc = tokenizer_merge_pair(tok, i, &left, &right);
        if (rc || tokenizer_token_string(tok, left, a, room) < 0 || tokenizer_token_string(tok, right, b, room) < 0) {
            rc = error_set(ERR_INPUT, "%s: merge %d cannot be written", path, i);
            break;
        }
        fputs(i ? ",[" : "[", f);
        put_json_string(f, a);
        fputc(',', f);
        put_json_string(f, b);
        fputc(']', f);
    }
    fputs("]}}\n", f);
    free(a), free(b);
    if (rc || ferror(f)) {
        atomic_abort(&af);
        return rc ? rc : error_set(ERR_FAILURE, "%s: write failed", path);
    }
    return atomic_commit(&af);
}

/* Two tokens with the same bytes cannot both be in a vocabulary keyed by string. */
static int check_unique(const Tokenizer *tok) {
    int V = tokenizer_vocab_size(tok);
    for (int id = 256; id < V; id++) {
        int la;
        const unsigned char *a = tokenizer_token_bytes(tok, id, &la);
        for (int other = 0; other < id; other++) {
            int lb;
            const unsigned char *b = tokenizer_token_bytes(tok, other, &lb);
            if (la == lb && !memcmp(a, b, (size_t)la))
                return error_set(ERR_INPUT, "tokens %d and %d have the same bytes: no tokenizer.json form",
                                 other, id);
        }
    }
    return OK;
}

int tokenizer_json_write(const Tokenizer *tok, const char *dir, int max_length) {
    char path[4096];
    size_t outside_bytes;
    int outside = tokenizer_outside_json(tok, &outside_bytes) != NULL;
    /* an outside tokenizer is written back as it was read (tokenizer_save does that) */
    int rc = outside ? make_dirs(dir) : check_unique(tok);
    if (outside) {
        snprintf(path, sizeof path, "%s/tokenizer.json", dir);
        if (!rc) rc = tokenizer_save(tok, path);
        if (rc) return rc;
    }
    if (!rc && !outside) rc = make_dirs(dir);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    if (!rc && !outside) rc = write_tokenizer_json(tok, path);
    if (rc) return rc;
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    AtomicFile af;
    if (atomic_open(&af, path)) return ERR_FAILURE;
    const char *eos = !outside && tokenizer_eos_id(tok) >= 0 ? "\"" TOKENIZER_EOS_TEXT "\"" : "null";
    fprintf(af.file, "{\"tokenizer_class\":\"PreTrainedTokenizerFast\",\"model_max_length\":%d,"
                     "\"add_bos_token\":false,\"add_eos_token\":false,\"bos_token\":%s,\"eos_token\":%s,"
                     "\"unk_token\":null,\"pad_token\":null,\"clean_up_tokenization_spaces\":false}\n",
            max_length, eos, eos);
    return atomic_commit(&af);
}
