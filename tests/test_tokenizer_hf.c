/* Outside tokenizers: a Hugging Face tokenizer.json (byte-level BPE) loaded by tokenizer_load.
 * Hand-written fixtures with ids worked out by hand, GPT-2's split on chosen strings, the
 * harness's own written tokenizer.json read back with the same ids, vocabularies past 32768,
 * the JSON reader, and every refusal naming the file and the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "data/bpe.h"
#include "data/dataset.h"
#include "data/tokenizer.h"
#include "data/tokenizer_json.h"
#include "data/tokens.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/json_read.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

/* GPT-2's byte -> character table, written out again here (not taken from the loader). */
static void byte_char(int b, char out[3]) {
    int printable = (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    unsigned cp = (unsigned)b;
    if (!printable) {
        cp = 256;
        for (int i = 0; i < b; i++)
            cp += !((i >= '!' && i <= '~') || (i >= 0xa1 && i <= 0xac) || (i >= 0xae && i <= 0xff));
    }
    if (cp < 0x80) out[0] = (char)cp, out[1] = 0;
    else out[0] = (char)(0xc0 | cp >> 6), out[1] = (char)(0x80 | (cp & 0x3f)), out[2] = 0;
}

/* The fixture's ids: merge tokens 0..8, then byte b at 10 + (7 b mod 256), "<|endoftext|>" 266
 * (id 9 is an added token too, in the vocabulary). */
static int byte_id(int b) { return 10 + (7 * b) % 256; }
static const char *const MERGES[][3] = {   /* left, right, result (byte characters) */
    {"h", "e", "he"}, {"l", "l", "ll"}, {"he", "ll", "hell"}, {"hell", "o", "hello"}, {"\xc4\xa0", "w", "\xc4\xa0w"},
    {"o", "r", "or"}, {"\xc4\xa0w", "or", "\xc4\xa0wor"}, {"'", "s", "'s"}, {"\xc4\xa0", "4", "\xc4\xa0" "4"}};

/* The fixture with pre_tokenizer and model fields replaced when given (NULL: the defaults). */
static char *fixture(const char *pre_tokenizer, const char *model_type, const char *extra_model) {
    size_t cap = 1 << 16, n = 0;
    char *s = malloc(cap);
    n += (size_t)sprintf(s + n, "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,\"added_tokens\":["
                               "{\"id\":266,\"content\":\"<|endoftext|>\",\"special\":true},"
                               "{\"id\":9,\"content\":\"<pad>\",\"special\":true}],"
                               "\"normalizer\":null,\"pre_tokenizer\":%s,\"post_processor\":null,"
                               "\"decoder\":{\"type\":\"ByteLevel\"},\"model\":{\"type\":\"%s\",%s\"vocab\":{",
                         pre_tokenizer ? pre_tokenizer : "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"use_regex\":true}",
                         model_type ? model_type : "BPE", extra_model ? extra_model : "\"dropout\":null,\"unk_token\":null,");
    for (int b = 0; b < 256; b++) {
        char c[3];
        byte_char(b, c);
        n += (size_t)sprintf(s + n, "\"%s%s\":%d,", b == '"' || b == '\\' ? "\\" : "", c, byte_id(b));
    }
    for (int i = 0; i < 9; i++) n += (size_t)sprintf(s + n, "\"%s\":%d,", MERGES[i][2], i);
    n += (size_t)sprintf(s + n, "\"<pad>\":9},\"merges\":[");
    for (int i = 0; i < 9; i++)   /* both forms: "a b" and ["a","b"] */
        n += (size_t)sprintf(s + n, i % 2 ? "%s[\"%s\",\"%s\"]" : "%s\"%s %s\"", i ? "," : "", MERGES[i][0], MERGES[i][1]);
    n += (size_t)sprintf(s + n, "]}}");
    return s;
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static Tokenizer *load_text(const char *name, const char *text) {
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    write_text(path, text);
    Tokenizer *tok = NULL;
    assert_int_equal(tokenizer_load(&tok, path), OK);
    return tok;
}

static void encode_expect(const Tokenizer *tok, const char *text, const int *want, long n_want) {
    uint16_t *ids;
    long n;
    assert_int_equal(tokenizer_encode(tok, (const unsigned char *)text, strlen(text), &ids, &n), OK);
    assert_int_equal(n, n_want);
    for (long i = 0; i < n; i++) assert_int_equal(ids[i], want[i]);
    free(ids);
}

/* Ids worked out by hand: GPT-2's split gives "hello", " world", "'s", " 42"; merges by rank. */
static void test_fixture_ids(void **state) {
    char *json = fixture(NULL, NULL, NULL);
    Tokenizer *tok = load_text("fixture.json", json);
    assert_int_equal(tokenizer_vocab_size(tok), 267);
    const int want[] = {3, 6, byte_id('l'), byte_id('d'), 7, 8, byte_id('2')};
    encode_expect(tok, "hello world's 42", want, 7);
    /* added tokens keep their ids and bytes but never come from text */
    const int marker[] = {byte_id('<'), byte_id('p'), byte_id('a'), byte_id('d'), byte_id('>')};
    encode_expect(tok, "<pad>", marker, 5);
    uint16_t special[] = {266, 9, 3};
    char *text;
    size_t bytes;
    assert_int_equal(tokenizer_decode(tok, special, 3, &text, &bytes), OK);
    assert_string_equal(text, "<|endoftext|><pad>hello");
    free(text);
    /* any bytes round trip */
    unsigned char all[512];
    for (int i = 0; i < 512; i++) all[i] = (unsigned char)(i * 37 + i / 256);
    uint16_t *ids;
    long n;
    assert_int_equal(tokenizer_encode(tok, all, sizeof all, &ids, &n), OK);
    assert_int_equal(tokenizer_decode(tok, ids, n, &text, &bytes), OK);
    assert_int_equal(bytes, sizeof all);
    assert_memory_equal(text, all, sizeof all);
    free(text), free(ids);
    /* the merge list is not in the harness's form: the exports refuse it */
    int left, right;
    assert_int_equal(tokenizer_merge_pair(tok, 0, &left, &right), ERR_INPUT);
    /* saved as the very file it was read from */
    char path[128];
    snprintf(path, sizeof path, "%s/saved.bin", dir);
    assert_int_equal(tokenizer_save(tok, path), OK);
    char *saved;
    assert_int_equal(read_file(path, &saved, &bytes), OK);
    assert_int_equal(bytes, strlen(json));
    assert_memory_equal(saved, json, bytes);
    free(saved);
    /* the HF export writes it back as it is too, with no eos of the harness's */
    char out[128];
    snprintf(out, sizeof out, "%s/export", dir);
    assert_int_equal(tokenizer_json_write(tok, out, 64), OK);
    snprintf(path, sizeof path, "%s/tokenizer.json", out);
    assert_int_equal(read_file(path, &saved, &bytes), OK);
    assert_int_equal(bytes, strlen(json));
    assert_memory_equal(saved, json, bytes);
    free(saved);
    assert_int_equal(tokenizer_eos_id(tok), -1);
    tokenizer_free(tok);
    free(json);
}

/* add_prefix_space puts one space before a text that does not start with one. */
static void test_prefix_space(void **state) {
    char *json = fixture("{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true}", NULL, NULL);
    Tokenizer *tok = load_text("prefix.json", json);
    const int want[] = {byte_id(' '), 3}, spaced[] = {8, byte_id('2')};
    encode_expect(tok, "hello", want, 2);
    encode_expect(tok, " 42", spaced, 2);
    tokenizer_free(tok);
    free(json);
    /* Sequence[Split(GPT-2's regex), ByteLevel(no regex)]: the same ids as ByteLevel alone */
    json = fixture("{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":"
                   "\"'s|'t|'re|'ve|'m|'ll|'d| ?\\\\p{L}+| ?\\\\p{N}+| ?[^\\\\s\\\\p{L}\\\\p{N}]+|\\\\s+(?!\\\\S)|\\\\s+\"},"
                   "\"behavior\":\"Isolated\",\"invert\":false},{\"type\":\"ByteLevel\",\"add_prefix_space\":false,"
                   "\"trim_offsets\":true,\"use_regex\":false}]}", NULL, NULL);
    tok = load_text("sequence.json", json);
    const int plain[] = {3, 6, byte_id('l'), byte_id('d'), 7, 8, byte_id('2')};
    encode_expect(tok, "hello world's 42", plain, 7);
    tokenizer_free(tok);
    free(json);
}

/* GPT-2's split on chosen strings, chunk by chunk ("|" separates the expected chunks). */
static void test_gpt2_split(void **state) {
    static const char *const cases[][2] = {
        {"hello world", "hello| world"},
        {"it's IT'S we'll", "it|'s| IT|'|S| we|'ll"},
        {"a\n\nb", "a|\n|\n|b"},
        {"x  y", "x| | y"},
        {"end   ", "end|   "},
        {"123abc!?  ", "123|abc|!?|  "},
        {"na\xc3\xafve caf\xc3\xa9", "na\xc3\xafve| caf\xc3\xa9"},                     /* naïve café: letters */
        {"\xd9\xa3\xd9\xa4 \xc2\xbd\xe2\x85\xab", "\xd9\xa3\xd9\xa4| \xc2\xbd\xe2\x85\xab"}, /* ٣٤ ½Ⅻ: numbers */
        {"e\xcc\x81t", "e|\xcc\x81|t"},                                               /* combining accent: not a letter */
        {"\xc2\xa0x", "\xc2\xa0|x"},                                                  /* no-break space: white space */
        {"a\xe3\x80\x80\xe3\x80\x80" "b", "a|\xe3\x80\x80|\xe3\x80\x80|b"},          /* ideographic spaces */
        {"\xe4\xbd\xa0\xe5\xa5\xbd!", "\xe4\xbd\xa0\xe5\xa5\xbd|!"},                  /* 你好! */
        {"\xff\xfe" "a", "\xff\xfe|a"},                                               /* not UTF-8: other */
        {" \xf0\x9f\x98\x80\xf0\x9f\x98\x80 ", " \xf0\x9f\x98\x80\xf0\x9f\x98\x80| "}, /* emoji: other */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const unsigned char *text = (const unsigned char *)cases[c][0];
        size_t bytes = strlen(cases[c][0]), at = 0;
        char got[128] = "";
        while (at < bytes) {
            size_t n = gpt2_chunk_length(text + at, bytes - at);
            assert_true(n >= 1 && at + n <= bytes);
            if (at) strcat(got, "|");
            strncat(got, (const char *)text + at, n);
            at += n;
        }
        if (strcmp(got, cases[c][1])) fail_msg("case %zu: got \"%s\", want \"%s\"", c, got, cases[c][1]);
    }
}

/* The harness's own tokenizer.json (Sequence[ByteLevel, Split(its regex)]) reads back with the
 * harness's ids on a text with long runs, digits and non-ASCII. */
static void test_harness_written_form(void **state) {
    const char *corpus = "In the beginning God created the heaven and the earth. 1234 times,  again\n\n"
                         "na\xc3\xafve caf\xc3\xa9s and the the the earth's ends.\t\tAnd God said.\n";
    size_t bytes = strlen(corpus);
    char *big = malloc(bytes * 40 + 1);
    for (int i = 0; i < 40; i++) memcpy(big + i * bytes, corpus, bytes);
    big[bytes * 40] = 0;
    Tokenizer *native = NULL, *read = NULL;
    assert_int_equal(tokenizer_train(&native, (const unsigned char *)big, bytes * 40, 400), OK);
    char out[128], path[160];
    snprintf(out, sizeof out, "%s/harness", dir);
    assert_int_equal(tokenizer_json_write(native, out, 64), OK);
    snprintf(path, sizeof path, "%s/tokenizer.json", out);
    assert_int_equal(tokenizer_load(&read, path), OK);
    assert_int_equal(tokenizer_vocab_size(read), tokenizer_vocab_size(native));
    uint16_t *a, *b;
    long na, nb;
    assert_int_equal(tokenizer_encode(native, (const unsigned char *)big, bytes * 40, &a, &na), OK);
    assert_int_equal(tokenizer_encode(read, (const unsigned char *)big, bytes * 40, &b, &nb), OK);
    assert_int_equal(na, nb);
    assert_true(na < (long)bytes * 40 / 3);   /* the merges did apply */
    assert_memory_equal(a, b, sizeof *a * (size_t)na);
    free(a), free(b), free(big);
    tokenizer_free(native);
    tokenizer_free(read);
}

/* n_merge two-byte tokens (every pair of the 256 bytes, in order) after the 256 byte ids. */
static char *pair_vocabulary(int n_merge) {
    char *s = malloc(64 + (size_t)(256 + n_merge) * 32);
    size_t n = (size_t)sprintf(s, "{\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"add_prefix_space\":false},"
                                  "\"model\":{\"type\":\"BPE\",\"vocab\":{");
    char a[3], b[3];
    for (int i = 0; i < 256 + n_merge; i++) {
        int x = i < 256 ? i : (i - 256) / 256, y = (i - 256) % 256;
        byte_char(x, a), byte_char(i < 256 ? 0 : y, b);
        const char *ea = x == '"' || x == '\\' ? "\\" : "", *eb = y == '"' || y == '\\' ? "\\" : "";
        n += (size_t)(i < 256 ? sprintf(s + n, "\"%s%s\":%d,", ea, a, i) : sprintf(s + n, "\"%s%s%s%s\":%d,", ea, a, eb, b, i));
    }
    n += (size_t)sprintf(s + n - 1, "},\"merges\":[") - 1;
    for (int i = 0; i < n_merge; i++) {
        int x = i / 256, y = i % 256;
        byte_char(x, a), byte_char(y, b);
        n += (size_t)sprintf(s + n, "%s[\"%s%s\",\"%s%s\"]", i ? "," : "", x == '"' || x == '\\' ? "\\" : "", a,
                             y == '"' || y == '\\' ? "\\" : "", b);
    }
    sprintf(s + n, "]}}");
    return s;
}

/* Past the harness's own 32768: 40256 tokens load, encode to ids above 32768 and fill token
 * files; 65537 are refused (ids are 16 bits). */
static void test_large_vocabularies(void **state) {
    char *json = pair_vocabulary(40000);
    Tokenizer *tok = load_text("large.json", json);
    assert_int_equal(tokenizer_vocab_size(tok), 40256);
    unsigned char text[2] = {150, 7};   /* pair 150 * 256 + 7 = merge 38407, token 38663 */
    const int want[] = {256 + 150 * 256 + 7};
    uint16_t *ids;
    long n;
    assert_int_equal(tokenizer_encode(tok, text, 2, &ids, &n), OK);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], want[0]);
    char path[128];
    snprintf(path, sizeof path, "%s/large.tok", dir);
    assert_int_equal(token_file_write(path, ids, n, tokenizer_vocab_size(tok)), OK);
    free(ids);
    tokenizer_free(tok);
    free(json);
    json = pair_vocabulary(65536 - 256 + 1);
    snprintf(path, sizeof path, "%s/huge.json", dir);
    write_text(path, json);
    assert_int_equal(tokenizer_load(&tok, path), ERR_INPUT);
    assert_non_null(strstr(error_message(), "huge.json: model.vocab"));
    free(json);
}

/* Each unrepresentable or broken file: ERR_INPUT naming the file and the field. */
static void test_refusals(void **state) {
    char *good = fixture(NULL, NULL, NULL);
    struct { const char *find, *replace, *field; } cases[] = {
        {"\"type\":\"BPE\"", "\"type\":\"WordPiece\"", "model.type"},
        {"\"h e\"", "\"h e x\"", "model.merges[0]"},
        {"[\"l\",\"l\"]", "[\"l\",\"zz\"]", "model.merges[1]"},
        {"[\"l\",\"l\"]", "[\"l\"]", "model.merges[1]"},
        {"\"\xc4\xa0 w\"", "\"h e\"", "model.merges[4]"},   /* a repeated pair */
        {"\"pre_tokenizer\":{\"type\":\"ByteLevel\"", "\"pre_tokenizer\":{\"type\":\"Whitespace\"", "pre_tokenizer"},
        {"\"use_regex\":true", "\"use_regex\":false", "pre_tokenizer.use_regex"},
        {"\"add_prefix_space\":false,", "", "pre_tokenizer.add_prefix_space"},   /* HF requires it */
        {"\"normalizer\":null", "\"normalizer\":{\"type\":\"NFC\"}", "normalizer"},
        {"\"truncation\":null", "\"truncation\":{\"max_length\":8}", "truncation"},
        {"\"post_processor\":null", "\"post_processor\":{\"type\":\"TemplateProcessing\"}", "post_processor.type"},
        {"\"decoder\":{\"type\":\"ByteLevel\"}", "\"decoder\":{\"type\":\"WordPiece\"}", "decoder.type"},
        {"\"unk_token\":null", "\"unk_token\":\"<unk>\"", "model.unk_token"},
        {"\"dropout\":null", "\"dropout\":0.1", "model.dropout"},
        {"\"dropout\":null", "\"byte_fallback\":true", "model.byte_fallback"},
        {"\"dropout\":null", "\"ignore_merges\":true", "model.ignore_merges"},
        {"\"<pad>\":9}", "\"<pad>\":9,\"gap\":300}", "model.vocab"},
        {"\"<pad>\":9}", "\"<pad>\":9,\"x\":70000}", "model.vocab"},
        {"\"<pad>\":9}", "\"<pad>\":9,\"tab\\t\":267}", "model.vocab"},   /* not byte-level text */
        {"\"<pad>\":9}", "\"<pad>\":9,\"he\":267}", "model.vocab"},       /* a token twice */
        {"{\"id\":9,", "{\"id\":9.5,", "added_tokens"},
        {"\"merges\":[", "\"merges\":{", "line 1"},                       /* malformed JSON */
        {"\"<pad>\":9}", "\"<pad>\":9,}", "line 1"},
        {"\"<pad>\"", "\"<p\xff" "d>\"", "line 1"},                       /* not UTF-8 */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char *at = strstr(good, cases[c].find);
        assert_non_null(at);
        char *bad = malloc(strlen(good) + strlen(cases[c].replace) + 1);
        size_t head = (size_t)(at - good);
        memcpy(bad, good, head);
        strcpy(bad + head, cases[c].replace);
        strcat(bad, at + strlen(cases[c].find));
        char path[128];
        snprintf(path, sizeof path, "%s/bad%zu.json", dir, c);
        write_text(path, bad);
        Tokenizer *tok = NULL;
        int rc = tokenizer_load(&tok, path);
        if (rc != ERR_INPUT || !strstr(error_message(), path) || !strstr(error_message(), cases[c].field))
            fail_msg("case %zu (%s): rc %d, \"%s\"", c, cases[c].field, rc, error_message());
        assert_null(tok);
        free(bad);
    }
    free(good);
    /* a byte the vocabulary lacks: refused at encoding (Hugging Face would drop it) */
    char *json = pair_vocabulary(0);
    char *gone = strstr(json, "\"a\":97,");   /* id 97 becomes "<a>": no token is byte 'a' */
    memmove(gone + 3, gone + 1, strlen(gone + 1) + 1);
    memcpy(gone + 1, "<a>", 3);
    Tokenizer *tok = load_text("lacks_a.json", json);
    uint16_t *ids;
    long n;
    assert_int_equal(tokenizer_encode(tok, (const unsigned char *)"bcb", 3, &ids, &n), OK);
    free(ids);
    assert_int_equal(tokenizer_encode(tok, (const unsigned char *)"bca", 3, &ids, &n), ERR_INPUT);
    assert_non_null(strstr(error_message(), "byte 0x61 at offset 2 of the text"));
    tokenizer_free(tok);
    free(json);
}

/* The JSON reader: escapes, surrogate pairs, numbers, nesting, and what it refuses. */
static void test_json_reader(void **state) {
    const char *text = " {\"a\": [1, -2.5e3, true, false, null], \"s\": \"q\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\\u0000z\","
                       " \"o\": {}, \"e\": [] }";
    JsonValue *v;
    assert_int_equal(json_parse(text, strlen(text), "t", &v), OK);
    const JsonValue *a = json_get(v, "a"), *s = json_get(v, "s");
    assert_int_equal(a->count, 5);
    assert_true(a->items[1].number == -2500.0);
    assert_int_equal(a->items[2].type, JSON_TRUE);
    assert_int_equal(a->items[4].type, JSON_NULL);
    static const char want[] = "q\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80\0z";
    assert_int_equal(s->length, sizeof want - 1);
    assert_memory_equal(s->string, want, sizeof want - 1);
    assert_int_equal(json_get(v, "o")->type, JSON_OBJECT);
    assert_null(json_get(v, "missing"));
    json_value_free(v);
    static const char *const bad[] = {"", "{", "[1,]", "{\"a\" 1}", "01", "1.", "-", "\"\\ud800\"", "\"\\udc00x\"",
                                      "\"a\nb\"", "\"\\x\"", "tru", "[1] 2", "\"\xc0\xaf\"", "1e", "{\"a\":1,}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = NULL;
        if (json_parse(bad[i], strlen(bad[i]), "bad", &v) != ERR_INPUT) fail_msg("accepted: %s", bad[i]);
        assert_null(v);
    }
    char deep[400];
    memset(deep, '[', 200);
    memset(deep + 200, ']', 200);
    assert_int_equal(json_parse(deep, sizeof deep, "deep", &v), ERR_INPUT);
    assert_non_null(strstr(error_message(), "nesting"));
}

/* ./meki data's folder is keyed by the tokenizer file's content; a changed file is another
 * folder, and the same one is reused; tokenizer.bin holds the file as given. */
static void test_prepared_folder(void **state) {
    char a[128], b[128], docs[2][128];
    snprintf(a, sizeof a, "%s/a.json", dir);
    snprintf(b, sizeof b, "%s/b.json", dir);
    char *json = fixture(NULL, NULL, NULL);
    write_text(a, json);
    write_text(b, json);
    for (int i = 0; i < 2; i++) {
        snprintf(docs[i], sizeof docs[i], "%s/doc%d.txt", dir, i);
        write_text(docs[i], i ? "hello world's 42\nhello there\n" : "the world's hello, 42 times\n");
    }
    const char *files[] = {docs[0], docs[1]};
    DataOptions o = {.corpus_files = files, .n_files = 2, .tokenizer = a};
    char da[4096], db[4096];
    assert_int_equal(data_default_dir(da, sizeof da, &o), OK);
    o.tokenizer = b;
    assert_int_equal(data_default_dir(db, sizeof db, &o), OK);
    assert_string_equal(da, db);                 /* same content, another name: one folder */
    assert_non_null(strstr(da, "-hf"));
    uint64_t h;
    char hex[20];
    assert_int_equal(tokenizer_file_hash(a, &h), OK);
    snprintf(hex, sizeof hex, "-hf%016llx", (unsigned long long)h);
    assert_non_null(strstr(da, hex));
    FILE *f = fopen(b, "a");                     /* same tokenizer, other bytes */
    assert_non_null(f);
    fputc('\n', f);
    fclose(f);
    assert_int_equal(data_default_dir(db, sizeof db, &o), OK);
    assert_string_not_equal(da, db);
    char out[128], saved[160];
    snprintf(out, sizeof out, "%s/prepared", dir);
    o.out_dir = out;
    o.tokenizer = a;
    DataSummary s;
    int reused = -1;
    assert_int_equal(dataset_prepare_logged(&o, &s, NULL, &reused), OK);
    assert_int_equal(reused, 0);
    assert_int_equal(s.vocab_size, 267);
    assert_int_equal(dataset_prepare_logged(&o, &s, NULL, &reused), OK);
    assert_int_equal(reused, 1);
    uint64_t h_saved;
    snprintf(saved, sizeof saved, "%s/tokenizer.bin", out);
    assert_int_equal(tokenizer_file_hash(saved, &h_saved), OK);
    assert_true(h_saved == h);                   /* the run record's tokenizer_hash is the file's */
    o.tokenizer = b;                             /* another tokenizer file: rebuilt */
    assert_int_equal(dataset_prepare_logged(&o, &s, NULL, &reused), OK);
    assert_int_equal(reused, 0);
    free(json);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/meki-test-hf-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_ids),
        cmocka_unit_test(test_prefix_space),
        cmocka_unit_test(test_gpt2_split),
        cmocka_unit_test(test_harness_written_form),
        cmocka_unit_test(test_large_vocabularies),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_json_reader),
        cmocka_unit_test(test_prepared_folder),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    char command[128];
    snprintf(command, sizeof command, "rm -rf %s", dir);
    if (system(command)) failed++;
    return failed;
}
