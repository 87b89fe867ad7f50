// An outside tokenizer.json loaded by ./meki data --tokenizer must give Hugging Face's ids:
// both the Rust library (npm "tokenizers") and tokenizers.js (@huggingface/tokenizers) encode
// the prepared folder's train text (its train documents back to back, from summary.txt; not for
// the built-in Bible) and val.txt; their ids are compared with train.tok and val.tok position by position.
// Prints the match rate per library and split; PASS needs every id equal.
// usage: node hf_tokenizer_check.mjs NODE_MODULES_DIR TOKENIZER_JSON DATA_DIR LABEL
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const [modules, tokenizerJson, dataDir, label] = process.argv.slice(2);
const rust = createRequire(import.meta.url)(path.resolve(modules, "tokenizers"));
const { Tokenizer: JsTokenizer } = await import(pathToFileURL(path.join(modules, "@huggingface/tokenizers/dist/tokenizers.mjs")));

function readTok(file) {
  const b = fs.readFileSync(file);
  const count = Number(b.readBigUInt64LE(16));
  return new Uint16Array(b.buffer.slice(b.byteOffset + 32, b.byteOffset + 32 + 2 * count));
}
// the train documents in corpus order: "file =" lines less the "val_document =" ones
const summary = fs.readFileSync(path.join(dataDir, "summary.txt"), "utf8").split("\n");
const files = summary.filter(l => l.startsWith("file = ")).map(l => l.slice(7));
const held = new Set(summary.filter(l => l.startsWith("val_document = ")).map(l => l.slice(15)));
const trainText = files.filter(f => !held.has(f)).map(f => {
  const s = fs.readFileSync(f, "utf8");
  return s.endsWith("\n") ? s : s + "\n";
}).join("");
// the built-in Bible corpus names no files: its val split alone
const splits = [...(files.length ? [["train", trainText, readTok(path.join(dataDir, "train.tok"))]] : []),
                ["val", fs.readFileSync(path.join(dataDir, "val.txt"), "utf8"), readTok(path.join(dataDir, "val.tok"))]];

const rustTok = rust.Tokenizer.fromFile(tokenizerJson);
const json = JSON.parse(fs.readFileSync(tokenizerJson, "utf8"));
const jsTok = new JsTokenizer(json, {});
const libraries = [
  ["tokenizers (Rust)", async text => (await rustTok.encode(text, null, { addSpecialTokens: false })).getIds()],
  ["tokenizers.js", async text => jsTok.encode(text, { add_special_tokens: false }).ids],
];
let failed = 0;
for (const [name, encode] of libraries) {
  for (const [split, text, expected] of splits) {
    const ids = Array.from(await encode(text));
    let same = 0, first = -1;
    for (let i = 0; i < Math.min(ids.length, expected.length); i++)
      if (ids[i] === expected[i]) same++; else if (first < 0) first = i;
    if (first < 0 && ids.length !== expected.length) first = Math.min(ids.length, expected.length);
    const ok = first < 0;
    failed += ok ? 0 : 1;
    console.log(`${ok ? "PASS" : "FAIL"}: ${label} ${split}: ${name} ${same}/${expected.length} ids equal ` +
      `(${(100 * same / Math.max(expected.length, 1)).toFixed(3)}%, ${ids.length} ids), first difference ${first}`);
    if (!ok) console.log(`  at ${first}: HF ${ids.slice(first, first + 6)} harness ${Array.from(expected.slice(first, first + 6))}`);
  }
}
process.exit(failed ? 1 : 0);
