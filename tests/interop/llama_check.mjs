// llama.cpp (npm node-llama-cpp, its prebuilt CPU binary) on a dense GGUF export: the
// token ids of the whole held-out text, the mean loss over its first N predictions in
// ./meki eval's windows, the top-1 token per position, greedy tokens, and no warning on load.
// node-llama-cpp is installed with --ignore-scripts (no postinstall: no download, no cmake
// build) and getLlama is told build "never", skipDownload, usePrebuiltBinaries, gpu false:
// the binary is the one inside @node-llama-cpp/linux-x64.
// usage: node llama_check.mjs NODE_MODULES_DIR FILE.gguf DATA_DIR N EXPECT.json
// EXPECT.json: {"loss": meki eval's, "loss_rtol": bound, "top1": [ids] or null,
//               "top1_min": fraction, "greedy_prompt": text, "greedy": [ids] or null}
// Prints the figures and `PASS:`/`FAIL:` lines; exit 1 on any failure.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [modules, file, dataDir, nText, expectPath] = process.argv.slice(2);
const N = Number(nText);
const expect = JSON.parse(fs.readFileSync(expectPath, "utf8"));
const { getLlama, LlamaLogLevel } = await import(pathToFileURL(path.join(modules, "node-llama-cpp/dist/index.js")));
const warnings = [];
const llama = await getLlama({
  gpu: false, build: "never", skipDownload: true, usePrebuiltBinaries: true, progressLogs: false,
  logLevel: LlamaLogLevel.warn,
  logger: (level, message) => { if (level === LlamaLogLevel.warn || level === LlamaLogLevel.error) warnings.push(message.trim()); },
});
const model = await llama.loadModel({ modelPath: path.resolve(file) });
let failed = 0;
const verdict = (ok, what) => { console.log(`${ok ? "PASS" : "FAIL"}: ${path.basename(file)}: ${what}`); if (!ok) failed++; };
verdict(warnings.length === 0, `no warning on load${warnings.length ? ": " + warnings.join(" | ") : ""}`);

// token ids: llama.cpp's tokenizer on the whole held-out text against the harness's val.tok
const tok = fs.readFileSync(path.join(dataDir, "val.tok"));       // 32-byte header, u16 ids
const count = Number(tok.readBigUInt64LE(16));
const ids = Array.from(new Uint16Array(tok.buffer.slice(tok.byteOffset + 32, tok.byteOffset + 32 + 2 * count)));
const got = model.tokenize(fs.readFileSync(path.join(dataDir, "val.txt"), "utf8"), false);
let first = -1;
for (let i = 0; i < Math.max(got.length, ids.length) && first < 0; i++) if (got[i] !== ids[i]) first = i;
verdict(first < 0, `token ids of the held-out text: ${got.length} (harness ${ids.length}), first difference ${first}` +
  (first >= 0 ? ` (llama.cpp ${got.slice(first, first + 4)}, harness ${ids.slice(first, first + 4)})` : ""));

// the logits as the model gives them: no temperature, truncation or penalty from the sampler
const RAW = { temperature: 1, topK: 0, topP: 1, minP: 0, repeatPenalty: false };
// loss: non-overlapping windows of seq_len inputs, each scored from an empty context
const T = model.trainContextSize;
const context = await model.createContext({ contextSize: T, batchSize: T, sequences: 1, threads: 1 });
const sequence = context.getSequence();
let total = 0, agree = 0;
const top1 = [];
for (let s = 0; s < N; s += T) {
  const n = Math.min(T, N - s);
  await sequence.clearHistory();
  const input = ids.slice(s, s + n).map((t, i) => [t, { generateNext: { logits: true, options: RAW } }]);
  const out = await sequence.controlledEvaluate(input);
  for (let i = 0; i < n; i++) {
    const logits = out[i].next.logits;                                // every token's, largest first
    const [best, max] = logits.entries().next().value;
    let sum = 0;
    for (const v of logits.values()) sum += Math.exp(v - max);
    total -= logits.get(ids[s + i + 1]) - max - Math.log(sum);
    top1.push(best);
  }
}
const loss = total / N;
const rel = Math.abs(loss - expect.loss) / Math.abs(expect.loss);
verdict(rel <= expect.loss_rtol, `mean loss over ${N} tokens ${loss.toFixed(9)}, meki eval ${expect.loss.toFixed(9)}, ` +
  `relative difference ${rel.toExponential(1)} (bound ${expect.loss_rtol})`);
if (expect.top1) {
  for (let i = 0; i < N; i++) if (top1[i] === expect.top1[i]) agree++;
  verdict(agree >= expect.top1_min * N, `top-1 token agrees with PyTorch's at ${agree} of ${N} positions (at least ${expect.top1_min * 100}%)`);
}
if (expect.greedy) {
  // greedy: the argmax appended one token at a time, from the prompt's harness ids
  await sequence.clearHistory();
  const tokens = [...expect.greedy_prompt];
  const out = [];
  for (let k = 0; k < expect.greedy.length; k++) {
    const input = (k === 0 ? tokens : [out[k - 1]]).map((t, i, a) => i === a.length - 1 ? [t, { generateNext: { logits: true, options: RAW } }] : t);
    const result = await sequence.controlledEvaluate(input);
    out.push(result[input.length - 1].next.logits.entries().next().value[0]);
  }
  verdict(JSON.stringify(out) === JSON.stringify(expect.greedy), `greedy tokens ${out.join(",")} (PyTorch ${expect.greedy.join(",")})`);
}
await context.dispose();
await model.dispose();
await llama.dispose();
process.exit(failed ? 1 : 0);
