/* The Debian corpus on a fake installed tree (no real packages): converter dispatch,
 * boilerplate, exact and near duplicates, documents held out per source, the mixture
 * record, resuming a killed conversion, and the missing-package refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "data/boilerplate.h"
#include "data/dataset.h"
#include "data/debian.h"
#include "data/dedup.h"
#include "data/tokenizer.h"
#include "data/val_sources.h"
#include "bench/eval_sources.h"
#include "models/model.h"
#include "train/eval.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/rng.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[] = "/tmp/meki-debian-XXXXXX";
static char fake[300], work[300];

/* Seeded prose-like text: words picked from a list, sentences on lines. */
static char *words_text(uint64_t seed, int n_words) {
    static const char *const words[] = {"river", "stone", "light", "water", "field", "night", "bread", "house",
                                        "cloud", "seed", "wind", "fire", "paper", "table", "green", "quick",
                                        "slowly", "under", "above", "with", "and", "the", "of", "a"};
    char *text = malloc((size_t)n_words * 8 + 16);
    Rng rng;
    rng_seed(&rng, seed);
    size_t at = 0;
    for (int i = 0; i < n_words; i++)
        at += (size_t)sprintf(text + at, "%s%s", words[rng_below(&rng, 24)], i % 12 == 11 ? ".\n" : " ");
    text[at] = 0;
    return text;
}

static void write_file(const char *path, const char *text) {
    char dir[600];
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = 0;
    assert_int_equal(make_dirs(dir), OK);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void append_line(const char *path, const char *line) {
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fprintf(f, "%s\n", line);
    assert_int_equal(fclose(f), 0);
}

/* One file of the source's kind under root at PATH, listed in its first package's list. */
static void add_file(int source, const char *path, const char *body) {
    char full[800], list[800], pkg[128], text[20000];
    const char *name = debian_source_name(source);
    if (!strcmp(name, "python") || strstr(path, ".html"))
        snprintf(text, sizeof text, "<html><head><title>t</title></head><body><p>Navigation: Home | Next | Previous</p>"
                 "<h1>%s</h1><p>%s</p><p>Copyright footer of the fake docs.</p></body></html>\n", path, body);
    else if (strstr(path, ".pod")) snprintf(text, sizeof text, "=head1 NAME\n\nfake - %s\n\n=head1 DESCRIPTION\n\n%s\n", path, body);
    else if (strstr(path, "/man/")) snprintf(text, sizeof text, ".TH FAKE 1\n.SH NAME\nfake \\- a page\n.SH DESCRIPTION\n%s\n", body);
    else snprintf(text, sizeof text, "%s", body);
    snprintf(full, sizeof full, "%s%s", fake, path);
    write_file(full, text);
    sscanf(debian_source_packages(source), "%127s", pkg);
    snprintf(list, sizeof list, "%s/var/lib/dpkg/info/%s.list", fake, pkg);
    append_line(list, path);
}

static int source_index(const char *name) {
    for (int i = 0; i < debian_source_count(); i++)
        if (!strcmp(debian_source_name(i), name)) return i;
    fail_msg("no source %s", name);
    return -1;
}

/* A dpkg database listing every package the corpus needs (except those in `without`). */
static void write_status(const char *without) {
    char path[400], list[2048];
    snprintf(path, sizeof path, "%s/var/lib/dpkg/status", fake);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    snprintf(list, sizeof list, "%s", debian_packages());
    for (char *save, *w = strtok_r(list, " ", &save); w; w = strtok_r(NULL, " ", &save))
        if (!without || strcmp(w, without))
            fprintf(f, "Package: %s\nStatus: install ok installed\nMaintainer: t <t@t>\nArchitecture: all\n"
                       "Version: 1.0-test\nDescription: fake\n\n", w);
    assert_int_equal(fclose(f), 0);
}

static int setup(void **state) {
    if (!mkdtemp(root)) return -1;
    snprintf(fake, sizeof fake, "%s/root", root);
    snprintf(work, sizeof work, "%s/work", root);
    char info[400];
    snprintf(info, sizeof info, "%s/var/lib/dpkg/info", fake);
    if (make_dirs(info)) return -1;
    write_status(NULL);
    char *body = words_text(1, 400), *twin_body = words_text(2, 400);
    add_file(source_index("gcide"), "/usr/share/dictd/gcide.dict.dz", body);
    free(body);
    /* python: HTML with navigation lines on every page (boilerplate), one exact copy of a
     * page (whitespace changed) and one near copy (one word changed) */
    char path[200];
    for (int p = 0; p < 8; p++) {
        char *text = words_text(10 + (uint64_t)p, 300);
        snprintf(path, sizeof path, "/usr/share/doc/python3.11/html/page%d.html", p);
        add_file(source_index("python"), path, text);
        free(text);
    }
    char *fortune = words_text(4, 400), *exact = words_text(4, 400);
    for (char *c = exact; *c; c++)
        if (*c == '\n') *c = ' ';
    add_file(source_index("man"), "/usr/share/man/man1/a.1.gz", twin_body);
    add_file(source_index("fortunes"), "/usr/share/games/fortunes/art", fortune);
    /* the same words on other lines: an exact twin (roff would hyphenate it otherwise) */
    add_file(source_index("fortunes"), "/usr/share/games/fortunes/law", exact);
    char *near = words_text(2, 400);
    memcpy(near, "zebra", 5);   /* one word of 400 changed */
    add_file(source_index("man"), "/usr/share/man/man1/c.1.gz", near);
    char *other = words_text(3, 400);
    add_file(source_index("man"), "/usr/share/man/man1/d.1.gz", other);
    for (int p = 0; p < 3; p++) {
        char *text = words_text(20 + (uint64_t)p, 200);
        snprintf(path, sizeof path, "/usr/share/perl/5.36.0/pod/perl%c.pod", 'a' + p);
        add_file(source_index("perl"), path, text);
        free(text);
    }
    add_file(source_index("man"), "/usr/share/man/man1/e.txt", "listed by the package, but not ending in .gz: not read\n");
    free(twin_body), free(fortune), free(exact), free(near), free(other);
    return 0;
}

static int teardown(void **state) {
    char command[400];
    snprintf(command, sizeof command, "rm -rf %s", root);
    return system(command);
}

static void test_dedup_exact_and_near(void **state) {
    char *a = words_text(5, 500), *b = strdup(a), *c = words_text(5, 500), *d = words_text(6, 500);
    for (char *p = b; *p; p++)
        if (*p == '\n') *p = ' ';   /* the same words, other whitespace */
    memcpy(c + 6, "zz", 2);      /* one word changed */
    const char *texts[] = {a, b, c, d};
    size_t lengths[] = {strlen(a), strlen(b), strlen(c), strlen(d)};
    unsigned char dropped[4];
    DedupStats stats;
    assert_int_equal(dedup_documents(texts, lengths, 4, dropped, &stats), OK);
    assert_int_equal(dropped[0], DEDUP_KEPT);
    assert_int_equal(dropped[1], DEDUP_EXACT);
    assert_int_equal(dropped[2], DEDUP_NEAR_COPY);
    assert_int_equal(dropped[3], DEDUP_KEPT);
    assert_int_equal(stats.exact, 1);
    assert_int_equal(stats.near, 1);
    assert_true(dedup_similarity(a, lengths[0], c, lengths[2]) >= DEDUP_NEAR);
    assert_true(dedup_similarity(a, lengths[0], d, lengths[3]) < 0.2);
    free(a), free(b), free(c), free(d);
}

static void test_boilerplate(void **state) {
    enum { N = 20 };
    char *texts[N];
    size_t lengths[N];
    for (int i = 0; i < N; i++) {
        char buffer[200];
        snprintf(buffer, sizeof buffer, "  Next | Previous  \n\n\n\nunique line %d   \nsecond %d\n\n\n", i, i * 7);
        texts[i] = strdup(buffer);
        lengths[i] = strlen(buffer);
    }
    int dropped;
    assert_int_equal(boilerplate_strip(texts, lengths, N, &dropped), OK);
    assert_int_equal(dropped, 1);
    for (int i = 0; i < N; i++) {
        char want[100];
        snprintf(want, sizeof want, "unique line %d\nsecond %d\n", i, i * 7);
        assert_int_equal(lengths[i], strlen(want));
        assert_memory_equal(texts[i], want, lengths[i]);
        free(texts[i]);
    }
}

/* The Makefile's DEPS_CORPUS names exactly the packages data/debian.c needs. */
static void test_makefile_lists_the_packages(void **state) {
    char *make;
    size_t bytes;
    assert_int_equal(read_file("Makefile", &make, &bytes), OK);
    char *at = strstr(make, "DEPS_CORPUS :=");
    assert_non_null(at);
    char words[4096] = "";
    size_t n = 0;
    for (char *p = at + strlen("DEPS_CORPUS :="); *p && n < sizeof words - 1; p++) {
        if (*p == '\\' && p[1] == '\n') p++;
        else if (*p == '\n') break;
        else words[n++] = *p;
    }
    words[n] = 0;
    char *list[128];
    int count = 0;
    for (char *save, *w = strtok_r(words, " ", &save); w && count < 128; w = strtok_r(NULL, " ", &save)) list[count++] = w;
    for (int i = 1; i < count; i++)   /* sorted, as debian_packages() is */
        for (int j = i; j > 0 && strcmp(list[j - 1], list[j]) > 0; j--) {
            char *t = list[j];
            list[j] = list[j - 1], list[j - 1] = t;
        }
    char joined[4096] = "";
    size_t at2 = 0;
    for (int i = 0; i < count; i++) at2 += (size_t)snprintf(joined + at2, sizeof joined - at2, "%s%s", i ? " " : "", list[i]);
    assert_string_equal(joined, debian_packages());
    free(make);
}

static int count_held(const Corpus *c, int source) {
    int held = 0;
    for (int i = 0; i < c->count; i++) held += c->doc_source[i] == source && c->held_out[i];
    return held;
}

static int count_docs(const Corpus *c, int source) {
    int n = 0;
    for (int i = 0; i < c->count; i++) n += c->doc_source[i] == source;
    return n;
}

static const char *find_doc(const Corpus *c, const char *name) {
    for (int i = 0; i < c->count; i++)
        if (!strcmp(c->names[i], name)) return c->text + c->starts[i];
    return NULL;
}

static void test_fake_tree(void **state) {
    DebianOptions o = {.root = fake, .work_dir = work, .only = "gcide,man,fortunes,perl,python"};
    Corpus c;
    assert_int_equal(debian_corpus_read(&c, &o, NULL), OK);
    assert_int_equal(c.n_sources, 5);
    assert_string_equal(c.sources[0].name, "gcide");
    assert_string_equal(c.sources[0].packages, "dict-gcide 1.0-test");
    assert_string_equal(c.sources[2].packages, "manpages 1.0-test, manpages-dev 1.0-test");
    /* dispatch: HTML without tags, POD and roff rendered as text */
    const char *page = find_doc(&c, "python:/usr/share/doc/python3.11/html/page0.html");
    assert_non_null(page);
    assert_null(strstr(page, "<p>"));
    assert_null(strstr(page, "Navigation: Home"));   /* on every page: boilerplate */
    assert_non_null(strstr(page, "/usr/share/doc/python3.11/html/page0.html"));
    const char *pod = find_doc(&c, "perl:/usr/share/perl/5.36.0/pod/perla.pod");
    assert_non_null(pod);
    assert_null(strstr(pod, "=head1"));
    const char *man = find_doc(&c, "man:/usr/share/man/man1/a.1.gz");
    assert_non_null(man);
    assert_null(strstr(man, ".SH"));
    /* duplicates: fortunes' law is an exact copy of art (reflowed), man's c.1 a near copy
     * of a.1 (one word of 400 changed); d.1 kept */
    assert_non_null(find_doc(&c, "fortunes:/usr/share/games/fortunes/art"));
    assert_null(find_doc(&c, "fortunes:/usr/share/games/fortunes/law"));
    assert_int_equal(c.sources[1].dropped_exact, 1);
    assert_non_null(find_doc(&c, "man:/usr/share/man/man1/a.1.gz"));
    assert_null(find_doc(&c, "man:/usr/share/man/man1/c.1.gz"));
    assert_non_null(find_doc(&c, "man:/usr/share/man/man1/d.1.gz"));
    assert_int_equal(c.sources[2].dropped_near, 1);
    assert_int_equal(c.sources[2].dropped_exact, 0);
    assert_null(find_doc(&c, "man:/usr/share/man/man1/e.txt"));
    /* held out within each source with two or more documents, never all of one */
    for (int s = 0; s < c.n_sources; s++) {
        int n = count_docs(&c, s), held = count_held(&c, s);
        if (n >= 2) assert_true(held >= 1 && held < n);
        else assert_int_equal(held, 0);
    }
    uint64_t fingerprint = c.fingerprint;
    corpus_free(&c);

    /* resume: a run killed while converting perl left some texts and no names.txt */
    char command[1200], kept_path[900];
    snprintf(command, sizeof command, "cd %s && d=$(ls -d perl-*) && rm $d/names.txt $d/000002.txt && ls -d $PWD/$d",
             work);
    FILE *p = popen(command, "r");
    assert_non_null(p);
    assert_non_null(fgets(kept_path, 800, p));
    assert_int_equal(pclose(p), 0);
    kept_path[strcspn(kept_path, "\n")] = 0;
    strcat(kept_path, "/000000.txt");
    struct stat before, after;
    assert_int_equal(stat(kept_path, &before), 0);
    sleep(1);   /* a rewrite would change the modification time */
    assert_int_equal(debian_corpus_read(&c, &o, NULL), OK);
    assert_int_equal(stat(kept_path, &after), 0);
    assert_int_equal(before.st_mtime, after.st_mtime);   /* not converted again */
    assert_true(c.fingerprint == fingerprint);            /* the same corpus */
    corpus_free(&c);
}

/* ./meki data --corpus debian killed (SIGKILL) while converting, then run again: the texts
 * converted before the kill are kept, not redone, and the result is the corpus a run that
 * was never killed makes. */
static void test_killed_run_resumes(void **state) {
    const char *meki = getenv("MEKI_BIN") ? getenv("MEKI_BIN") : "./meki";
    char bin[1024], command[4096];
    assert_non_null(realpath(meki, bin));
    char path[200];
    for (int p = 0; p < 60; p++) {   /* man pages, about 0.1 s each to render */
        char *text = words_text(100 + (uint64_t)p, 150);
        snprintf(path, sizeof path, "/usr/share/man/man5/k%02d.5.gz", p);
        add_file(source_index("man"), path, text);
        free(text);
    }
    snprintf(command, sizeof command,
             "cd %s && rm -rf data && (%s data --corpus debian --debian-root %s --debian-sources man --vocab 300 "
             "--out killed >/dev/null 2>&1 & pid=$!; "
             "for i in $(seq 600); do n=$(ls data/cache/debian-work/man-*/ 2>/dev/null | grep -c '^0.*txt$'); "
             "[ \"$n\" -ge 5 ] && break; sleep 0.05; done; kill -KILL $pid; wait $pid; "
             "ls data/cache/debian-work/man-*/ | grep -c '^0.*txt$' > converted; "
             "test ! -e data/cache/debian-work/man-*/names.txt && test ! -e killed/summary.txt)",
             root, bin, fake);
    assert_int_equal(system(command), 0);
    char counted[600], *text;
    size_t bytes;
    snprintf(counted, sizeof counted, "%s/converted", root);
    assert_int_equal(read_file(counted, &text, &bytes), OK);
    int converted = atoi(text);
    free(text);
    assert_true(converted >= 5 && converted < 63);   /* killed part way */
    snprintf(command, sizeof command,
             "cd %s && touch -d '2001-01-01' data/cache/debian-work/man-*/000000.txt && "
             "%s data --corpus debian --debian-root %s --debian-sources man --vocab 300 --out killed >/dev/null 2>&1 && "
             "test \"$(stat -c %%Y data/cache/debian-work/man-*/000000.txt)\" = \"$(date -d 2001-01-01 +%%s)\" && "
             "mv data resumed-data && %s data --corpus debian --debian-root %s --debian-sources man --vocab 300 "
             "--out fresh >/dev/null 2>&1 && grep fingerprint killed/summary.txt > a && "
             "grep fingerprint fresh/summary.txt > b && cmp a b && rm -rf data && mv resumed-data data",
             root, bin, fake, bin, fake);
    assert_int_equal(system(command), 0);
}

static void test_missing_package(void **state) {
    write_status("w3m");
    DebianOptions o = {.root = fake, .work_dir = work, .only = "gcide"};
    Corpus c;
    assert_int_equal(debian_corpus_read(&c, &o, NULL), ERR_INPUT);
    assert_non_null(strstr(error_message(), "w3m"));
    assert_non_null(strstr(error_message(), "make corpus-debian"));
    o.only = "gcide,nosuch";
    write_status(NULL);
    assert_int_equal(debian_corpus_read(&c, &o, NULL), ERR_INPUT);
    assert_non_null(strstr(error_message(), "nosuch"));
}

/* Through ./meki data's pipeline: summary.txt names each source, its packages and its
 * tokens, which add up to the split's. */
static void test_mixture_record(void **state) {
    char cwd[1024], out[400], summary[500];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(root), 0);   /* the work folder is data/cache/debian-work under it */
    snprintf(out, sizeof out, "%s/prepared", root);
    DataOptions o = {.builtin = "debian", .debian_root = fake, .debian_sources = "gcide,man,perl,python",
                     .vocab_size = 300, .out_dir = out};
    DataSummary s;
    int rc = dataset_prepare_logged(&o, &s, NULL, NULL);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(rc, OK);
    snprintf(summary, sizeof summary, "%s/summary.txt", out);
    char *text;
    size_t bytes;
    assert_int_equal(read_file(summary, &text, &bytes), OK);
    assert_non_null(strstr(text, "corpus = debian\n"));
    const char *names[] = {"gcide: dict-gcide 1.0-test;", "man: manpages 1.0-test, manpages-dev 1.0-test;",
                           "perl: perl-doc 1.0-test;", "python: python3.11-doc 1.0-test;"};
    long train = 0, val = 0;
    for (int k = 0; k < 4; k++) {
        char *line = strstr(text, names[k]);
        assert_non_null(line);
        long bytes_train, tokens_train, bytes_val, tokens_val;
        char *figures = strstr(line, "; train ");
        assert_non_null(figures);
        assert_int_equal(sscanf(figures, "; train %ld bytes %ld tokens; val %ld bytes %ld tokens", &bytes_train,
                                &tokens_train, &bytes_val, &tokens_val), 4);
        assert_true(tokens_train > 0);
        train += tokens_train, val += tokens_val;
    }
    assert_int_equal(train, s.train_tokens);
    assert_int_equal(val, s.val_tokens);
    assert_true(val > 0);
    free(text);
    /* the held-out split by source: each span decodes to that source's bytes of val.txt */
    ValSource *vs;
    int n_sources;
    assert_int_equal(dataset_val_sources(out, &vs, &n_sources), OK);
    assert_int_equal(n_sources, 4);
    const char *expected[] = {"gcide", "man", "perl", "python"};
    char tok_path[500], val_path[500], *val_text;
    size_t val_bytes;
    snprintf(tok_path, sizeof tok_path, "%s/tokenizer.bin", out);
    snprintf(val_path, sizeof val_path, "%s/val.txt", out);
    Tokenizer *tok;
    TokenFile tf;
    assert_int_equal(tokenizer_load(&tok, tok_path), OK);
    assert_int_equal(read_file(val_path, &val_text, &val_bytes), OK);
    assert_int_equal(dataset_open_split(out, "val", 1, &tf), OK);
    long at = 0, byte_at = 0;
    for (int k = 0; k < 4; k++) {
        assert_string_equal(vs[k].name, expected[k]);
        assert_int_equal(vs[k].start, at);
        char *decoded;
        size_t decoded_bytes;
        assert_int_equal(tokenizer_decode(tok, tf.ids + vs[k].start, vs[k].tokens, &decoded, &decoded_bytes), OK);
        assert_int_equal((long)decoded_bytes, vs[k].bytes);
        assert_memory_equal(decoded, val_text + byte_at, decoded_bytes);
        free(decoded);
        at += vs[k].tokens, byte_at += vs[k].bytes;
    }
    assert_int_equal(at, tf.count);
    /* eval --by-source scores each span on its own: a model's loss per source is its loss on
     * that slice of val.tok, every token but the span's first predicted */
    ModelConfig cfg;
    model_preset(&cfg, "tiny");
    cfg.vocab_size = tokenizer_vocab_size(tok), cfg.d_model = 32, cfg.ffn_hidden = 48, cfg.seq_len = 16;
    assert_int_equal(model_config_validate(&cfg), OK);
    Model m;
    assert_int_equal(model_create(&m, &cfg, 0, 0), OK);
    model_init_weights(&m, 3);
    SourceScores by;
    assert_int_equal(eval_sources_open(out, &tf, &by), OK);
    assert_int_equal(eval_sources_score(&m, &tf, tok, 4, 16, 0, 0, &by), OK);
    int scored = 0;
    for (int k = 0; k < 4; k++) {
        if (vs[k].tokens < 2) {   /* a source with nothing held out of this small tree */
            assert_int_equal(by.count[k], 0);
            assert_true(isnan(by.loss[k]));
            continue;
        }
        long count;
        double alone = evaluate_loss(&m, tf.ids + vs[k].start, vs[k].tokens, 4, 16, 0, &count);
        assert_int_equal(by.count[k], vs[k].tokens - 1);
        assert_true(fabs(by.loss[k] - alone) < 1e-12);
        assert_true(by.bpb[k] > 0);
        scored++;
    }
    assert_true(scored >= 2);
    eval_sources_free(&by);
    model_free(&m);
    token_file_close(&tf);
    tokenizer_free(tok);
    free(val_text);
    free(vs);
    /* a summary whose sources do not add up is refused, naming it */
    char *summary_text, *tampered;
    size_t summary_bytes;
    assert_int_equal(read_file(summary, &summary_text, &summary_bytes), OK);
    char *python = strstr(summary_text, "source = python:"), *val_field = python ? strstr(python, "; val ") : NULL;
    assert_non_null(val_field);
    /* a 7 put before python's held-out tokens: ten times them and more, still a number */
    size_t cut = (size_t)(strstr(val_field, " bytes ") + 7 - summary_text);
    tampered = malloc(summary_bytes + 2);
    assert_non_null(tampered);
    memcpy(tampered, summary_text, cut);
    tampered[cut] = '7';
    memcpy(tampered + cut + 1, summary_text + cut, summary_bytes - cut + 1);
    write_file(summary, tampered);
    free(tampered);
    free(summary_text);
    assert_int_equal(dataset_val_sources(out, &vs, &n_sources), ERR_INPUT);
    assert_non_null(strstr(error_message(), "summary.txt"));
    assert_non_null(strstr(error_message(), "val_tokens"));
    /* an unknown source is refused before any work */
    o.debian_sources = "gcide,,man";   /* an empty name */
    assert_int_equal(dataset_prepare_logged(&o, &s, NULL, NULL), ERR_INPUT);
    o.debian_sources = "gcide,bogus";
    assert_int_equal(dataset_prepare_logged(&o, &s, NULL, NULL), ERR_INPUT);
    assert_non_null(strstr(error_message(), "bogus"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dedup_exact_and_near),
        cmocka_unit_test(test_boilerplate),
        cmocka_unit_test(test_makefile_lists_the_packages),
        cmocka_unit_test(test_fake_tree),
        cmocka_unit_test(test_killed_run_resumes),
        cmocka_unit_test(test_missing_package),
        cmocka_unit_test(test_mixture_record),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
