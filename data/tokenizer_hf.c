/* A Hugging Face tokenizer.json holding a byte-level BPE, loaded in place of the harness's
 * own (tokenizer_load hands it any tokenizer file that is not "MEKIBPE1" but a JSON object).
 * Only what encodes exactly as Hugging Face would is taken; anything else (another model,
 * a normalizer, another pre-tokenizer, unk or byte-fallback tokens, dropout, a post-processor
 * adding tokens) is refused naming the file and the JSON field. Added tokens keep their ids
 * and bytes but are never produced from text. */
#include "data/bpe.h"
#include "data/checksum.h"
#include "data/tokenizer_json.h"
#include "util/error.h"
#include "util/json_read.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GPT2_REGEX "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"

typedef struct {
    const char *source;
    const JsonValue *vocab;
    int *slots, mask;           /* open addressing over vocab entries, -1 empty */
} Loader;

static int refuse(const Loader *l, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int refuse(const Loader *l, const char *field, const char *fmt, ...) {
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return error_set(ERR_INPUT, "%s: %s: %s", l->source, field, why);
}

static int is_null(const JsonValue *v) { return !v || v->type == JSON_NULL; }
static int is_string(const JsonValue *v, const char *s) {
    return v && v->type == JSON_STRING && v->length == strlen(s) && !memcmp(v->string, s, v->length);
}
/* A boolean field, or fallback when absent; -1 when it is something else. */
static int flag(const JsonValue *object, const char *key, int fallback) {
    const JsonValue *v = json_get(object, key);
    return !v ? fallback : v->type == JSON_TRUE ? 1 : v->type == JSON_FALSE ? 0 : -1;
}

/* GPT-2's byte -> character table (as data/tokenizer_json.c writes it), inverted. */
static int char_byte(unsigned cp) {
    static int table[0x144], built;
    if (!built) {
        for (unsigned c = 0; c < 0x144; c++) table[c] = -1;
        for (int b = 0, n = 0; b < 256; b++) {
            int printable = (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
            table[printable ? b : 256 + n++] = b;
        }
        built = 1;
    }
    return cp < 0x144 ? table[cp] : -1;
}

/* The bytes a byte-level token string stands for, into out (room: its length); -1 when a
 * character is not one of the 256 byte characters. */
static int token_bytes(const char *s, size_t length, unsigned char *out) {
    int n = 0;
    for (size_t i = 0; i < length;) {
        unsigned char c = (unsigned char)s[i];
        unsigned cp;
        if (c < 0x80) cp = c, i++;
        else if ((c & 0xe0) == 0xc0 && i + 1 < length) cp = (c & 0x1fu) << 6 | ((unsigned char)s[i + 1] & 0x3fu), i += 2;
        else return -1;   /* every byte character is below U+0800 */
        int b = char_byte(cp);
        if (b < 0) return -1;
        out[n++] = (unsigned char)b;
    }
    return n;
}

static uint32_t key_hash(const char *s, size_t n) { return (uint32_t)checksum_bytes(s, n); }

static int vocab_find(const Loader *l, const char *s, size_t n) {
    for (uint32_t at = key_hash(s, n) & (uint32_t)l->mask;; at = (at + 1) & (uint32_t)l->mask) {
        int i = l->slots[at];
        if (i < 0) return -1;
        if (l->vocab->key_lengths[i] == n && !memcmp(l->vocab->keys[i], s, n)) return i;
    }
}

/* Checks the parts around the model: what would change ids is refused. */
static int check_pipeline(const Loader *l, const JsonValue *root) {
    static const char *const must_be_null[] = {"normalizer", "truncation", "padding"};
    for (int i = 0; i < 3; i++)
        if (!is_null(json_get(root, must_be_null[i])))
            return refuse(l, must_be_null[i], "must be null (it would change the text or the ids)");
    const JsonValue *post = json_get(root, "post_processor");
    if (!is_null(post) && !is_string(json_get(post, "type"), "ByteLevel"))
        return refuse(l, "post_processor.type", "only null or ByteLevel (others add tokens)");
    const JsonValue *decoder = json_get(root, "decoder");
    if (!is_null(decoder) && !is_string(json_get(decoder, "type"), "ByteLevel"))
        return refuse(l, "decoder.type", "only null or ByteLevel");
    const JsonValue *model = json_get(root, "model");
    if (!model || model->type != JSON_OBJECT) return refuse(l, "model", "missing or not an object");
    if (!is_string(json_get(model, "type"), "BPE")) return refuse(l, "model.type", "only BPE");
    static const char *const none[] = {"dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix"};
    for (int i = 0; i < 4; i++) {
        const JsonValue *v = json_get(model, none[i]);
        if (!is_null(v) && !(i >= 2 && is_string(v, "")))
            return refuse(l, i == 0 ? "model.dropout" : i == 1 ? "model.unk_token" : i == 2 ? "model.continuing_subword_prefix"
                          : "model.end_of_word_suffix", "must be null");
    }
    if (flag(model, "byte_fallback", 0) != 0) return refuse(l, "model.byte_fallback", "must be false");
    if (flag(model, "ignore_merges", 0) != 0) return refuse(l, "model.ignore_merges", "must be false");
    return OK;
}

/* The pre-tokenizer forms that encode as the harness can: ByteLevel with GPT-2's regex;
 * Sequence[Split(GPT-2's regex), ByteLevel(no regex)]; the harness's own written form. */
static int read_pre_tokenizer(const Loader *l, const JsonValue *root, BpeOutside *o) {
    const JsonValue *pt = json_get(root, "pre_tokenizer");
    if (is_null(pt)) return refuse(l, "pre_tokenizer", "null: only a byte-level pre-tokenizer can be represented");
    if (is_string(json_get(pt, "type"), "ByteLevel")) {
        /* HF requires add_prefix_space (no default); use_regex defaults to true */
        int prefix = flag(pt, "add_prefix_space", -1), regex = flag(pt, "use_regex", 1);
        if (prefix < 0) return refuse(l, "pre_tokenizer.add_prefix_space", "missing or not true or false");
        if (regex != 1) return refuse(l, "pre_tokenizer.use_regex", "must be true (without a Split, the text would be one word)");
        o->split = BPE_SPLIT_GPT2, o->prefix_space = prefix;
        return OK;
    }
    const JsonValue *list = json_get(pt, "pretokenizers");
    if (!is_string(json_get(pt, "type"), "Sequence") || !list || list->type != JSON_ARRAY || list->count != 2)
        return refuse(l, "pre_tokenizer", "only ByteLevel, or a Sequence of a regex Split and a ByteLevel");
    int split_first = is_string(json_get(&list->items[0], "type"), "Split");
    const JsonValue *split = &list->items[split_first ? 0 : 1], *level = &list->items[split_first ? 1 : 0];
    if (!is_string(json_get(level, "type"), "ByteLevel") || flag(level, "use_regex", 1) != 0 ||
        flag(level, "add_prefix_space", 1) != 0)
        return refuse(l, "pre_tokenizer.pretokenizers", "the ByteLevel must have use_regex and add_prefix_space false");
    const JsonValue *regex = json_get(json_get(split, "pattern"), "Regex");
    if (!is_string(json_get(split, "type"), "Split") || !is_string(json_get(split, "behavior"), "Isolated") ||
        flag(split, "invert", 0) != 0 || !regex || regex->type != JSON_STRING)
        return refuse(l, "pre_tokenizer.pretokenizers", "the Split must be an Isolated, not inverted Regex");
    /* the harness's regex as tokenizer_split_regex gives it: JSON text, backslashes doubled */
    char harness[8192];
    size_t n = 0;
    for (const char *p = tokenizer_split_regex(); *p && n + 1 < sizeof harness; p++) {
        harness[n++] = *p;
        if (p[0] == '\\' && p[1] == '\\') p++;
    }
    harness[n] = 0;
    if (split_first && is_string(regex, GPT2_REGEX)) o->split = BPE_SPLIT_GPT2;
    else if (!split_first && is_string(regex, harness)) o->split = BPE_SPLIT_HARNESS;
    else return refuse(l, "pre_tokenizer.pretokenizers.pattern.Regex", "only GPT-2's regex (before ByteLevel) "
                       "or the harness's own (after it)");
    o->prefix_space = 0;
    return OK;
}

/* Fills o's vocabulary size, token bytes and byte ids from model.vocab and added_tokens. */
static int read_vocab(Loader *l, const JsonValue *root, BpeOutside *o) {
    const JsonValue *vocab = l->vocab, *added = json_get(root, "added_tokens");
    if (added && added->type != JSON_ARRAY) return refuse(l, "added_tokens", "not an array");
    int n_added = added ? added->count : 0, max_id = -1;
    if (vocab->count > BPE_OUTSIDE_VOCAB_MAX || n_added > BPE_OUTSIDE_VOCAB_MAX)
        return refuse(l, "model.vocab", "more than %d tokens (ids are stored as 16 bits)", BPE_OUTSIDE_VOCAB_MAX);
    for (int pass = 0; pass < 2; pass++) {
        int n = pass ? n_added : vocab->count;
        for (int i = 0; i < n; i++) {
            const JsonValue *v = pass ? json_get(&added->items[i], "id") : &vocab->items[i];
            const JsonValue *content = pass ? json_get(&added->items[i], "content") : NULL;
            if (pass && (!content || content->type != JSON_STRING))
                return refuse(l, "added_tokens", "entry %d has no content string", i);
            /* the range first: a cast of 1e40 to an integer is undefined */
            if (!v || v->type != JSON_NUMBER || !(v->number >= 0 && v->number < BPE_OUTSIDE_VOCAB_MAX) ||
                v->number != (double)(int)v->number)
                return refuse(l, pass ? "added_tokens" : "model.vocab", "entry %d: the id must be an integer "
                              "0..%d (ids are stored as 16 bits)", i, BPE_OUTSIDE_VOCAB_MAX - 1);
            if ((int)v->number > max_id) max_id = (int)v->number;
        }
    }
    if (max_id < 0) return refuse(l, "model.vocab", "empty");
    o->vocab_size = max_id + 1;
    /* each id's bytes: an added token's content, else the vocabulary string decoded */
    const JsonValue **text = calloc((size_t)o->vocab_size, sizeof *text);
    char *from_vocab = calloc((size_t)o->vocab_size, 1);
    o->offsets = malloc(sizeof *o->offsets * (size_t)o->vocab_size);
    o->lengths = malloc(sizeof *o->lengths * (size_t)o->vocab_size);
    size_t total = 0;
    for (int i = 0; i < vocab->count; i++) total += vocab->key_lengths[i];
    for (int i = 0; i < n_added; i++) total += json_get(&added->items[i], "content")->length;
    o->bytes = malloc(total + 1);
    int rc = text && from_vocab && o->offsets && o->lengths && o->bytes ? OK : error_set(ERR_FAILURE, "out of memory");
    for (int i = 0; !rc && i < n_added; i++) {
        int id = (int)json_get(&added->items[i], "id")->number;
        if (text[id]) rc = refuse(l, "added_tokens", "id %d given twice", id);
        text[id] = json_get(&added->items[i], "content");
    }
    for (int i = 0; !rc && i < vocab->count; i++) {
        int id = (int)vocab->items[i].number;
        if (from_vocab[id]) rc = refuse(l, "model.vocab", "id %d given twice", id);
        from_vocab[id] = 1;
        if (!text[id]) text[id] = &vocab->items[i];   /* marks the id as a vocabulary string */
    }
    size_t at = 0;
    for (int id = 0; !rc && id < o->vocab_size; id++) {
        if (!text[id]) {
            rc = refuse(l, "model.vocab", "no token has id %d (ids must run 0..%d without gaps)", id, max_id);
            break;
        }
        o->offsets[id] = (uint32_t)at;
        if (text[id]->type == JSON_STRING) {   /* an added token: its content as is */
            memcpy(o->bytes + at, text[id]->string, text[id]->length);
            o->lengths[id] = (uint32_t)text[id]->length;
        } else {
            int i = (int)(text[id] - vocab->items);
            int n = token_bytes(vocab->keys[i], vocab->key_lengths[i], o->bytes + at);
            if (n < 0) {
                rc = refuse(l, "model.vocab", "token %d (\"%.40s\") is not byte-level text (GPT-2's 256 byte characters)",
                            id, vocab->keys[i]);
                break;
            }
            o->lengths[id] = (uint32_t)n;
        }
        at += o->lengths[id];
    }
    free(text);
    free(from_vocab);
    if (rc) return rc;
    /* the string -> entry table for the merges and the byte tokens */
    int capacity = 64;
    while (capacity < 2 * vocab->count + 2) capacity *= 2;
    l->mask = capacity - 1;
    if (!(l->slots = malloc(sizeof *l->slots * (size_t)capacity))) return error_set(ERR_FAILURE, "out of memory");
    memset(l->slots, 0xff, sizeof *l->slots * (size_t)capacity);
    for (int i = 0; i < vocab->count; i++) {
        if (vocab_find(l, vocab->keys[i], vocab->key_lengths[i]) >= 0)
            return refuse(l, "model.vocab", "the token \"%.40s\" is given twice", vocab->keys[i]);
        uint32_t s = key_hash(vocab->keys[i], vocab->key_lengths[i]) & (uint32_t)l->mask;
        while (l->slots[s] >= 0) s = (s + 1) & (uint32_t)l->mask;
        l->slots[s] = i;
    }
    for (int b = 0; b < 256; b++) {
        char s[3];
        unsigned cp = 0;
        for (unsigned c = 0; c < 0x144; c++)
            if (char_byte(c) == b) cp = c;
        size_t n = cp < 0x80 ? (s[0] = (char)cp, 1) : (s[0] = (char)(0xc0 | cp >> 6), s[1] = (char)(0x80 | (cp & 0x3f)), 2);
        int i = vocab_find(l, s, n);
        o->byte_id[b] = i < 0 ? -1 : (int32_t)vocab->items[i].number;
    }
    return OK;
}

/* One merge's two strings: "a b" or ["a", "b"]. */
static int merge_parts(const JsonValue *m, const char **a, size_t *na, const char **b, size_t *nb) {
    if (m->type == JSON_ARRAY) {
        if (m->count != 2 || m->items[0].type != JSON_STRING || m->items[1].type != JSON_STRING) return 0;
        *a = m->items[0].string, *na = m->items[0].length, *b = m->items[1].string, *nb = m->items[1].length;
        return 1;
    }
    if (m->type != JSON_STRING) return 0;
    const char *space = memchr(m->string, ' ', m->length);
    if (!space || memchr(space + 1, ' ', m->length - (size_t)(space - m->string) - 1)) return 0;
    *a = m->string, *na = (size_t)(space - m->string), *b = space + 1, *nb = m->length - *na - 1;
    return 1;
}

static int read_merges(Loader *l, const JsonValue *model, BpeOutside *o) {
    const JsonValue *merges = json_get(model, "merges");
    if (!merges || merges->type != JSON_ARRAY) return refuse(l, "model.merges", "missing or not an array");
    o->n_merges = merges->count;
    o->merges = malloc(sizeof *o->merges * ((size_t)merges->count + 1));
    o->merge_result = malloc(sizeof *o->merge_result * ((size_t)merges->count + 1));
    if (!o->merges || !o->merge_result) return error_set(ERR_FAILURE, "out of memory");
    char *joined = NULL;
    size_t room = 0;
    int rc = OK;
    for (int i = 0; !rc && i < merges->count; i++) {
        const char *a, *b;
        size_t na, nb;
        char field[64];
        snprintf(field, sizeof field, "model.merges[%d]", i);
        if (!merge_parts(&merges->items[i], &a, &na, &b, &nb)) {
            rc = refuse(l, field, "not \"a b\" nor [\"a\", \"b\"]");
            break;
        }
        if (na + nb + 1 > room && !(joined = realloc(joined, room = 2 * (na + nb + 1)))) {
            rc = error_set(ERR_FAILURE, "out of memory");
            break;
        }
        memcpy(joined, a, na);
        memcpy(joined + na, b, nb);
        int ia = vocab_find(l, a, na), ib = vocab_find(l, b, nb), ic = vocab_find(l, joined, na + nb);
        if (ia < 0 || ib < 0 || ic < 0)
            rc = refuse(l, field, "\"%.*s\" is not in model.vocab", (int)(ia < 0 ? na : ib < 0 ? nb : na + nb),
                        ia < 0 ? a : ib < 0 ? b : joined);
        else
            o->merges[i][0] = (uint16_t)l->vocab->items[ia].number, o->merges[i][1] = (uint16_t)l->vocab->items[ib].number,
            o->merge_result[i] = (uint16_t)l->vocab->items[ic].number;
    }
    free(joined);
    return rc;
}

static int by_key(const void *x, const void *y) {
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

/* Duplicate pairs: Hugging Face keeps the last rank, the harness's table the first; refused. */
static int check_unique_merges(const Loader *l, const BpeOutside *o) {
    uint64_t *keys = malloc(sizeof *keys * ((size_t)o->n_merges + 1));
    if (!keys) return error_set(ERR_FAILURE, "out of memory");
    for (int i = 0; i < o->n_merges; i++)   /* the pair above, the merge's index below */
        keys[i] = (uint64_t)o->merges[i][0] << 48 | (uint64_t)o->merges[i][1] << 32 | (uint32_t)i;
    qsort(keys, (size_t)o->n_merges, sizeof *keys, by_key);
    int rc = OK;
    for (int i = 1; !rc && i < o->n_merges; i++)
        if (keys[i] >> 32 == keys[i - 1] >> 32) {
            char field[64];
            snprintf(field, sizeof field, "model.merges[%u]", (unsigned)(keys[i] & 0xffffffffu));
            rc = refuse(l, field, "repeats merge %u", (unsigned)(keys[i - 1] & 0xffffffffu));
        }
    free(keys);
    return rc;
}

int tokenizer_hf_parse(Tokenizer **out, char *json, size_t bytes, const char *source) {
    *out = NULL;
    Loader l = {.source = source};
    JsonValue *root = NULL;
    BpeOutside *o = calloc(1, sizeof *o);
    if (!o) {
        free(json);
        return error_set(ERR_FAILURE, "out of memory");
    }
    o->json = json, o->json_bytes = bytes;
    int rc = json_parse(json, bytes, source, &root);
    if (!rc && root->type != JSON_OBJECT) rc = refuse(&l, "(top level)", "not an object");
    if (!rc) rc = check_pipeline(&l, root);
    if (!rc) {
        l.vocab = json_get(json_get(root, "model"), "vocab");
        if (!l.vocab || l.vocab->type != JSON_OBJECT) rc = refuse(&l, "model.vocab", "missing or not an object");
    }
    if (!rc) rc = read_pre_tokenizer(&l, root, o);
    if (!rc) rc = read_vocab(&l, root, o);
    if (!rc) rc = read_merges(&l, json_get(root, "model"), o);
    if (!rc) rc = check_unique_merges(&l, o);
    free(l.slots);
    json_value_free(root);
    if (rc) {
        free(o->merges), free(o->merge_result), free(o->offsets), free(o->lengths), free(o->bytes), free(o->json);
        free(o);
        return rc;
    }
    return tokenizer_from_outside(out, o);
}
