/* Export a dense model as GGUF v3 for llama.cpp's qwen3 architecture: general.architecture
 * = qwen3 and the qwen3.* hyperparameters, a gpt2 tokenizer (tokens as GPT-2 byte
 * characters, token_type 1, merges in the harness's order, pre-tokenizer gpt-2, bos/eos the
 * control token <|endoftext|> of data/tokenizer_json.h, add_bos/add_eos off), tensors token_embd.weight,
 * blk.N.attn_{norm,q,k,v,output,q_norm,k_norm}.weight, blk.N.ffn_{norm,gate,up,down}.weight,
 * output_norm.weight and output.weight (absent when tied). Dims are written innermost first
 * (a [out, in] matrix is {in, out}); data aligned to 32 bytes. 1-D tensors stay f32;
 * matrices take the chosen dtype (f32, f16, q8_0, q4_0 as ggml's blocks, kernels/quant.h),
 * or f16 where a q dtype's row is not a multiple of 32. RoPE needs no permutation:
 * llama.cpp runs qwen3 with the rotate-half (NEOX) form the harness uses. */
#ifndef DEPLOY_EXPORT_GGUF_H
#define DEPLOY_EXPORT_GGUF_H
#include "data/tokenizer.h"
#include "kernels/quant.h"
#include "models/model.h"

/* ERR_INPUT for a model with memory, QK-norm off, bf16, or a tokenizer of another size. */
int export_gguf(const Model *m, const Tokenizer *tok, const char *path, TableDtype dtype);
#endif
