import Foundation

extension ModelFamily {
  /// GPT-NeoX (Pythia, GPT-NeoX-20B): a fused `query_key_value` with biases,
  /// LayerNorms with biases, an MLP of `dense_h_to_4h` and `dense_4h_to_h` with
  /// biases, and an untied `embed_out` head (transformers' `GPTNeoXForCausalLM`).
  static let gptNeoX = ModelFamily(
    name: "GPT-NeoX",
    modelTypes: ["gpt_neox"],
    ggufArchitectures: ["gptneox"],
    reading: .custom { config, name in try config.buildGPTNeoX(name: name) },
    baseModelPrefix: "gpt_neox",
    rotaryModule: true,
    headModule: "embed_out"
  )
}

extension Config {
  func buildGPTNeoX(name: String) throws -> ModelSpec {
    let family = modelType
    let hidden = try int("hidden_size", family: family)
    let layers = try int("num_hidden_layers", family: family)
    let heads = try int("num_attention_heads", family: family)
    let vocab = try int("vocab_size", family: family)
    let intermediate = try optionalInt("intermediate_size") ?? 4 * hidden
    let headDim = try attentionShape(hidden: hidden, heads: heads, kvHeads: heads, vocab: vocab)
    let tied = bool("tie_word_embeddings", default: false)
    var (builder, quantization) = try tensorBuilder()
    builder.plain("gpt_neox.embed_in.weight", [vocab, hidden], layer: nil, role: .embedding)
    for layer in 0..<layers {
      let p = "gpt_neox.layers.\(layer)."
      for norm in ["input_layernorm", "post_attention_layernorm"] {
        builder.plain(p + norm + ".weight", [hidden], layer: layer, role: .norm)
        builder.plain(p + norm + ".bias", [hidden], layer: layer, role: .norm)
      }
      builder.linear(p + "attention.query_key_value", out: 3 * hidden, input: hidden, layer: layer, role: .attention)
      builder.plain(p + "attention.query_key_value.bias", [3 * hidden], layer: layer, role: .attention)
      builder.linear(p + "attention.dense", out: hidden, input: hidden, layer: layer, role: .attention)
      builder.plain(p + "attention.dense.bias", [hidden], layer: layer, role: .attention)
      builder.linear(p + "mlp.dense_h_to_4h", out: intermediate, input: hidden, layer: layer, role: .mlp)
      builder.plain(p + "mlp.dense_h_to_4h.bias", [intermediate], layer: layer, role: .mlp)
      builder.linear(p + "mlp.dense_4h_to_h", out: hidden, input: intermediate, layer: layer, role: .mlp)
      builder.plain(p + "mlp.dense_4h_to_h.bias", [hidden], layer: layer, role: .mlp)
    }
    builder.plain("gpt_neox.final_layer_norm.weight", [hidden], layer: nil, role: .norm)
    builder.plain("gpt_neox.final_layer_norm.bias", [hidden], layer: nil, role: .norm)
    if !tied { builder.plain("embed_out.weight", [vocab, hidden], layer: nil, role: .head) }
    return try standardSpec(
      name: name,
      family: family,
      hidden: hidden,
      layers: layers,
      heads: heads,
      kvHeads: heads,
      headDim: headDim,
      vocab: vocab,
      intermediate: intermediate,
      defaultContext: 2048,
      attentionLayers: Array(repeating: .full, count: layers),
      moe: nil,
      tied: tied,
      tensors: builder.tensors,
      quantization: quantization,
      notes: []
    )
  }
}
