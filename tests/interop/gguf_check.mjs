// The GGUF export read back by @huggingface/gguf: every tensor's name, shape, type and
// offset as the expectation file (written from the harness's checkpoint) says, and the
// metadata llama.cpp's qwen3 loader needs.
// usage: node gguf_check.mjs NODE_MODULES_DIR FILE.gguf EXPECTED.json
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [modules, file, expectedPath] = process.argv.slice(2);
const lib = await import(pathToFileURL(path.join(modules, "@huggingface/gguf/dist/index.mjs")));
const { metadata, tensorInfos, tensorDataOffset } = await lib.gguf(path.resolve(file), { allowLocalFile: true });
const expected = JSON.parse(fs.readFileSync(expectedPath, "utf8"));
let passed = 0, failed = 0;
const check = (ok, what) => { if (ok) passed++; else { failed++; console.log("FAIL: " + what); } };

for (const [key, value] of Object.entries(expected.metadata)) {
  const got = metadata[key];
  const same = typeof value === "number" ? Math.abs(Number(got) - value) <= 1e-6 * Math.abs(value) : got === value;
  check(same, `metadata ${key} = ${got}, expected ${value}`);
}
for (const key of ["tokenizer.ggml.tokens", "tokenizer.ggml.token_type"])
  check(Array.isArray(metadata[key]) && metadata[key].length === expected.vocab_size, `${key} has ${metadata[key]?.length} entries`);
check(Array.isArray(metadata["tokenizer.ggml.merges"]) && metadata["tokenizer.ggml.merges"].length === expected.vocab_size - 256, "merges");
check(metadata["tokenizer.ggml.tokens"]?.[32] === "\u0120", "token 32 is the space character");
check(Number(metadata.version) === 3, `version ${metadata.version}`);
check(tensorInfos.length === expected.tensors.length, `${tensorInfos.length} tensors, expected ${expected.tensors.length}`);
const size = fs.statSync(file).size;
for (const want of expected.tensors) {
  const got = tensorInfos.find((t) => t.name === want.name);
  if (!got) { check(false, `tensor ${want.name} missing`); continue; }
  const shape = got.shape.map(Number);
  check(JSON.stringify(shape) === JSON.stringify(want.shape), `${want.name} shape ${shape}, expected ${want.shape}`);
  check(got.dtype === want.type, `${want.name} type ${got.dtype}, expected ${want.type}`);
  check(Number(got.offset) === want.offset && Number(got.offset) % 32 === 0, `${want.name} offset ${got.offset}, expected ${want.offset}`);
  check(Number(tensorDataOffset) + want.offset + want.bytes <= size, `${want.name} data inside the file`);
}
console.log(`gguf ${file}: ${tensorInfos.length} tensors`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
