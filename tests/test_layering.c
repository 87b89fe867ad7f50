/* No file-level circles: a module is X.c with X.h under the source folders (the Makefile's
 * SRC_DIRS); module A depends on module B when a file of A has #include "B.h". The test
 * fails on any cycle of that graph and names its modules and the includes that close it.
 * docs/DESIGN.md's file map names every module of the tree, and only those. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_MODULES = 512 };

typedef struct {
    int n;
    char name[MAX_MODULES][128];              /* "models/meki": path without .c/.h */
    unsigned char dep[MAX_MODULES][MAX_MODULES]; /* dep[a][b]: a includes b's header */
    unsigned char has_file[MAX_MODULES];          /* a file of it was read (else only included) */
} Graph;

static int module_index(Graph *g, const char *path) {
    char name[128];
    const char *dot = strrchr(path, '.');
    size_t len = dot ? (size_t)(dot - path) : strlen(path);
    if (len >= sizeof name) len = sizeof name - 1;
    memcpy(name, path, len);
    name[len] = 0;
    for (int i = 0; i < g->n; i++)
        if (!strcmp(g->name[i], name)) return i;
    assert_true(g->n < MAX_MODULES);
    snprintf(g->name[g->n], sizeof g->name[0], "%s", name);
    return g->n++;
}

/* Adds path (a .c or .h) and the quoted .h includes in its text. */
static void add_file(Graph *g, const char *path, const char *text) {
    int from = module_index(g, path);
    g->has_file[from] = 1;
    for (const char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        const char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (*p++ != '#') continue;
        while (*p == ' ' || *p == '\t') p++;
        if (strncmp(p, "include", 7)) continue;
        p += 7;
        while (*p == ' ' || *p == '\t') p++;
        if (*p++ != '"') continue;
        const char *end = strchr(p, '"');
        if (!end || end - p < 3 || strncmp(end - 2, ".h", 2) || end - p >= 128) continue;
        char target[128];
        memcpy(target, p, (size_t)(end - p));
        target[end - p] = 0;
        int to = module_index(g, target);
        if (to != from) g->dep[from][to] = 1;
    }
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Writes one line per cycle (a strongly connected group of two or more modules) to out:
 * its modules sorted by name, then the includes between them. Returns how many. */
static int find_cycles(const Graph *g, char *out, size_t size) {
    static unsigned char reach[MAX_MODULES][MAX_MODULES];
    int n = g->n, groups = 0;
    size_t used = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) reach[i][j] = g->dep[i][j];
    for (int k = 0; k < n; k++)   /* transitive closure: n is a few hundred */
        for (int i = 0; i < n; i++)
            if (reach[i][k])
                for (int j = 0; j < n; j++) reach[i][j] |= reach[k][j];
    unsigned char *done = calloc((size_t)n + 1, 1);
    const char **members = calloc((size_t)n + 1, sizeof *members);
    assert_non_null(done);
    assert_non_null(members);
    out[0] = 0;
    for (int i = 0; i < n; i++) {
        if (done[i] || !reach[i][i]) continue;
        int count = 0;
        for (int j = 0; j < n; j++)
            if (reach[i][j] && reach[j][i]) members[count++] = g->name[j], done[j] = 1;
        qsort(members, (size_t)count, sizeof *members, by_name);
        groups++;
        for (int m = 0; m < count; m++)
            used += (size_t)snprintf(out + used, used < size ? size - used : 0, "%s%s", m ? " " : "", members[m]);
        used += (size_t)snprintf(out + used, used < size ? size - used : 0, " |");
        for (int j = 0; j < n; j++)
            for (int k = 0; k < n; k++)
                if (g->dep[j][k] && reach[i][j] && reach[j][i] && reach[i][k] && reach[k][i])
                    used += (size_t)snprintf(out + used, used < size ? size - used : 0, " %s -> %s;", g->name[j],
                                             g->name[k]);
        used += (size_t)snprintf(out + used, used < size ? size - used : 0, "\n");
    }
    free(done);
    free(members);
    assert_true(used < size);
    return groups;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)n + 1);
    if (text && fread(text, 1, (size_t)n, f) != (size_t)n) { free(text); text = NULL; }
    if (text) text[n] = 0;
    fclose(f);
    return text;
}

static int is_source(const char *name) {
    size_t n = strlen(name);
    return n > 2 && name[n - 2] == '.' && (name[n - 1] == 'c' || name[n - 1] == 'h');
}

static void test_detector_finds_a_circle(void **state) {
    static Graph g;
    char report[1024];
    memset(&g, 0, sizeof g);
    add_file(&g, "a/x.c", "#include \"a/x.h\"\n#include \"b/y.h\"\n");
    add_file(&g, "b/y.h", "#include \"a/z.h\"\n");
    add_file(&g, "a/z.c", "#include <stdio.h>\n#include \"util/w.h\"\n");
    assert_int_equal(find_cycles(&g, report, sizeof report), 0);   /* x -> y -> z -> w */
    add_file(&g, "a/z.h", "  #  include \"a/x.h\"\n");           /* z's header closes it */
    assert_int_equal(find_cycles(&g, report, sizeof report), 1);
    assert_non_null(strstr(report, "a/x a/z b/y |"));
    assert_non_null(strstr(report, "a/x -> b/y;"));
    assert_non_null(strstr(report, "a/z -> a/x;"));
    assert_null(strstr(report, "util/w"));
}

/* Every .c and .h of the source folders, as the build lists them. */
static void load_tree(Graph *g) {
    char *makefile = slurp("Makefile");
    assert_non_null(makefile);
    char *line = strstr(makefile, "\nSRC_DIRS := ");
    assert_non_null(line);
    line += strlen("\nSRC_DIRS := ");
    line[strcspn(line, "\n")] = 0;
    memset(g, 0, sizeof *g);
    int files = 0;
    for (char *dir = strtok(line, " \t"); dir; dir = strtok(NULL, " \t")) {
        DIR *d = opendir(dir);
        assert_non_null(d);
        struct dirent *e;
        while ((e = readdir(d)))
            if (is_source(e->d_name)) {
                char path[512];
                snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
                char *text = slurp(path);
                assert_non_null(text);
                add_file(g, path, text);
                free(text);
                files++;
            }
        closedir(d);
    }
    free(makefile);
    assert_true(files > 100);   /* the folders were found and read */
}

static void test_no_file_level_circles(void **state) {
    static Graph g;
    char report[8192];
    load_tree(&g);
    if (find_cycles(&g, report, sizeof report)) fail_msg("file-level circle(s) between modules (X.c + X.h):\n%s", report);
}

static void test_design_maps_every_module(void **state) {
    static Graph g;
    load_tree(&g);
    char *design = slurp("docs/DESIGN.md");
    assert_non_null(design);
    char *map = strstr(design, "\n## File map\n");
    assert_non_null(map);
    map += 1;
    char *next = strstr(map + 3, "\n## ");
    if (next) *next = 0;
    int listed = 0, wrong = 0;
    for (char *line = map; line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        if (strncmp(line, "- `", 3)) continue;
        char name[128];
        const char *end = strchr(line + 3, '`');
        assert_non_null(end);
        snprintf(name, sizeof name, "%.*s", (int)(end - line - 3), line + 3);
        int found = -1;
        for (int i = 0; i < g.n; i++)
            if (g.has_file[i] && !strcmp(g.name[i], name)) found = i;
        if (found < 0) { fprintf(stderr, "DESIGN.md's file map lists %s, not in the tree\n", name); wrong++; }
        listed++;
    }
    for (int i = 0; i < g.n; i++) {
        char entry[160];
        snprintf(entry, sizeof entry, "\n- `%s`:", g.name[i]);
        if (g.has_file[i] && !strstr(map - 1, entry)) {
            fprintf(stderr, "DESIGN.md's file map lacks %s\n", g.name[i]);
            wrong++;
        }
    }
    free(design);
    assert_true(listed > 100);
    assert_int_equal(wrong, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detector_finds_a_circle),
        cmocka_unit_test(test_no_file_level_circles),
        cmocka_unit_test(test_design_maps_every_module),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
