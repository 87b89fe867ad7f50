// The exported tokenizer.json, read by Hugging Face's tokenizers (JS), must give the
// harness's ids on the whole held-out text and decode them back to the same bytes.
// usage: node tokenizer_check.mjs NODE_MODULES_DIR HF_DIR DATA_DIR
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [modules, hfDir, dataDir] = process.argv.slice(2);
const { Tokenizer } = await import(pathToFileURL(path.join(modules, "@huggingface/tokenizers/dist/tokenizers.mjs")));
const json = JSON.parse(fs.readFileSync(path.join(hfDir, "tokenizer.json"), "utf8"));
const config = JSON.parse(fs.readFileSync(path.join(hfDir, "tokenizer_config.json"), "utf8"));
const tokenizer = new Tokenizer(json, config);

const textBytes = fs.readFileSync(path.join(dataDir, "val.txt"));
const tok = fs.readFileSync(path.join(dataDir, "val.tok"));       // 32-byte header, u16 ids
const count = Number(tok.readBigUInt64LE(16));
const expected = new Uint16Array(tok.buffer.slice(tok.byteOffset + 32, tok.byteOffset + 32 + 2 * count));

const text = textBytes.toString("utf8");
const ids = tokenizer.encode(text, { add_special_tokens: false }).ids ?? tokenizer.encode(text).ids;
let failures = 0, firstBad = -1;
if (ids.length !== count) failures++;
for (let i = 0; i < Math.min(ids.length, count); i++)
  if (ids[i] !== expected[i]) { firstBad = i; failures++; break; }
const decoded = Buffer.from(tokenizer.decode(Array.from(expected), { skip_special_tokens: false }), "utf8");
const sameBytes = decoded.equals(textBytes);
console.log(`tokenizer.json: ${ids.length} ids (harness ${count}), first mismatch ${firstBad}, decode ${sameBytes ? "same bytes" : "DIFFERENT"}`);
if (firstBad >= 0) console.log(`  at ${firstBad}: got ${ids.slice(firstBad, firstBad + 8)} expected ${Array.from(expected.slice(firstBad, firstBad + 8))}`);
const passed = (failures === 0 ? 1 : 0) + (sameBytes ? 1 : 0);
console.log(`${passed} passed, ${2 - passed} failed`);
process.exit(passed === 2 ? 0 : 1);
