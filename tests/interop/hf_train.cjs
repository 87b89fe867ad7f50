// Trains a byte-level BPE with Hugging Face's tokenizers (the Rust library's npm binding) on
// the given text files and saves its tokenizer.json: an outside tokenizer that no code here
// wrote, for ./meki data --tokenizer. Pre-tokenizer ByteLevel (GPT-2's regex, no prefix
// space), the trainer's defaults (vocabulary 30000, alphabet: the bytes the text holds),
// plus one special token after training (an added token outside model.vocab).
// usage: node hf_train.cjs NODE_MODULES_DIR OUT.json FILE...
const path = require("node:path");
const [modules, out, ...files] = process.argv.slice(2);
const t = require(path.resolve(modules, "tokenizers"));
const tok = new t.Tokenizer(t.BPE.empty());
tok.setPreTokenizer(t.byteLevelPreTokenizer(false, true));
tok.train(files);
tok.addSpecialTokens(["<|endoftext|>"]);
tok.save(out);
console.log(`trained ${tok.getVocabSize(true)} tokens on ${files.length} files`);
