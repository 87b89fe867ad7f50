/* One-line meanings of the experiment-file and model keys, for docs/reference.md
 * (./meki reference). tests/test_docs.c fails when a key has none or one names no key. */
#ifndef RUNNER_KEY_DOCS_H
#define RUNNER_KEY_DOCS_H
/* "section.key" -> its meaning; NULL when the table has none. */
const char *key_doc_find(const char *key);
/* The same, or a marker that makes the missing entry visible in the document. */
const char *key_doc(const char *key);
/* Every documented key in turn (i from 0); NULL past the end. */
const char *key_doc_key(int i);
#endif
