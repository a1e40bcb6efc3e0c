extension ModelFamily {
  /// Falcon 7B/40B/180B (`transformer.h.N.*`): one fused `query_key_value`
  /// (multi-query for 7B, grouped KV heads with `new_decoder_architecture`), a
  /// parallel attention and MLP block, LayerNorms with biases, tied embeddings.
  static let falcon = ModelFamily(
    name: "Falcon",
    modelTypes: ["falcon", "RefinedWeb", "RefinedWebModel"],
    ggufArchitectures: ["falcon"],
    reading: .custom { config, name in try config.buildFalcon(name: name) },
    baseModelPrefix: "transformer"
  )
}

extension Config {
  /// Falcon, as transformers' `FalconForCausalLM` builds it.
  func buildFalcon(name: String) throws -> ModelSpec {
    let family = modelType
    let hidden = try int("hidden_size", family: family)
    let layers = try int("num_hidden_layers", family: family)
    let heads = try int("num_attention_heads", family: family)
    let vocab = try int("vocab_size", family: family)
    let newArchitecture = bool("new_decoder_architecture", default: false)
    let multiQuery = bool("multi_query", default: true)
    let kvHeads =
      newArchitecture ? (try optionalInt("num_kv_heads") ?? heads) : (multiQuery ? 1 : heads)
    let headDim = try attentionShape(hidden: hidden, heads: heads, kvHeads: kvHeads, vocab: vocab)
    let intermediate = try optionalInt("ffn_hidden_size") ?? 4 * hidden
    let bias = bool("bias", default: false)
    let parallel = bool("parallel_attn", default: true)
    // The new architecture normalises attention and MLP inputs separately unless
    // num_ln_in_parallel_attn says 1.
    let normsInParallel = try optionalInt("num_ln_in_parallel_attn") ?? 2
    let twoNorms = newArchitecture && normsInParallel == 2
    var (builder, quantization) = try tensorBuilder()
    builder.plain("transformer.word_embeddings.weight", [vocab, hidden], layer: nil, role: .embedding)
    let fused = newArchitecture || multiQuery ? (heads + 2 * kvHeads) * headDim : 3 * hidden
    for layer in 0..<layers {
      let p = "transformer.h.\(layer)."
      let parts: [(String, Int, Int, TensorRole)] = [
        ("self_attention.query_key_value", fused, hidden, .attention),
        ("self_attention.dense", hidden, heads * headDim, .attention),
        ("mlp.dense_h_to_4h", intermediate, hidden, .mlp),
        ("mlp.dense_4h_to_h", hidden, intermediate, .mlp),
      ]
      for (module, out, input, role) in parts {
        builder.linear(p + module, out: out, input: input, layer: layer, role: role)
        if bias { builder.plain(p + module + ".bias", [out], layer: layer, role: role) }
      }
      let norms =
        twoNorms
        ? ["ln_attn", "ln_mlp"] : (parallel ? ["input_layernorm"] : ["input_layernorm", "post_attention_layernorm"])
      for norm in norms {
        builder.plain(p + norm + ".weight", [hidden], layer: layer, role: .norm)
        builder.plain(p + norm + ".bias", [hidden], layer: layer, role: .norm)
      }
    }
    builder.plain("transformer.ln_f.weight", [hidden], layer: nil, role: .norm)
    builder.plain("transformer.ln_f.bias", [hidden], layer: nil, role: .norm)
    let tied = tiedOverride ?? bool("tie_word_embeddings", default: true)
    if !tied { builder.plain("lm_head.weight", [vocab, hidden], layer: nil, role: .head) }
    return try standardSpec(
      name: name,
      family: family,
      hidden: hidden,
      layers: layers,
      heads: heads,
      kvHeads: kvHeads,
      headDim: headDim,
      vocab: vocab,
      intermediate: intermediate,
      defaultContext: 2048,
      attentionLayers: Array(repeating: .full, count: layers),
      moe: nil,
      tied: tied,
      tensors: builder.tensors,
      quantization: quantization,
      notes: wrapperNotes
    )
  }
}
