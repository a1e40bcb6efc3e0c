import Foundation

extension ModelFamily {
  /// Phi-3: fused `qkv_proj` and `gate_up_proj`.
  static let phi3 = ModelFamily(
    name: "Phi-3",
    modelTypes: ["phi3"],
    ggufArchitectures: ["phi3"],
    reading: .decoder(DecoderTraits(attentionBias: .never, fusedProjections: true)),
    rotaryModule: true
  )

  /// Phi-3.5-MoE: Mixtral's experts with LayerNorms that have biases (and a head
  /// bias with `lm_head_bias`).
  static let phiMoE = ModelFamily(
    name: "Phi-3.5-MoE",
    modelTypes: ["phimoe"],
    reading: .decoder(DecoderTraits(normBias: true, experts: .mixtral)),
    rotaryModule: true
  )

  /// Phi-2: a parallel attention and MLP block with biases and a partial rotary.
  static let phi2 = ModelFamily(
    name: "Phi-2",
    modelTypes: ["phi"],
    ggufArchitectures: ["phi2"],
    reading: .custom { config, name in try config.buildPhi(name: name) },
    rotaryModule: true
  )
}

extension Config {
  func buildPhi(name: String) throws -> ModelSpec {
    let family = modelType
    let hidden = try int("hidden_size", family: family)
    let layers = try int("num_hidden_layers", family: family)
    let heads = try int("num_attention_heads", family: family)
    let kvHeads = try optionalInt("num_key_value_heads") ?? heads
    let vocab = try int("vocab_size", family: family)
    let intermediate = try int("intermediate_size", family: family)
    let headDim = hidden / max(heads, 1)
    var (builder, quantization) = try tensorBuilder()
    builder.plain("model.embed_tokens.weight", [vocab, hidden], layer: nil, role: .embedding)
    for layer in 0..<layers {
      let p = "model.layers.\(layer)."
      for (projection, out) in [
        ("q_proj", heads * headDim), ("k_proj", kvHeads * headDim), ("v_proj", kvHeads * headDim),
      ] {
        builder.linear(p + "self_attn.\(projection)", out: out, input: hidden, layer: layer, role: .attention)
        builder.plain(p + "self_attn.\(projection).bias", [out], layer: layer, role: .attention)
      }
      builder.linear(p + "self_attn.dense", out: hidden, input: heads * headDim, layer: layer, role: .attention)
      builder.plain(p + "self_attn.dense.bias", [hidden], layer: layer, role: .attention)
      builder.linear(p + "mlp.fc1", out: intermediate, input: hidden, layer: layer, role: .mlp)
      builder.plain(p + "mlp.fc1.bias", [intermediate], layer: layer, role: .mlp)
      builder.linear(p + "mlp.fc2", out: hidden, input: intermediate, layer: layer, role: .mlp)
      builder.plain(p + "mlp.fc2.bias", [hidden], layer: layer, role: .mlp)
      builder.plain(p + "input_layernorm.weight", [hidden], layer: layer, role: .norm)
      builder.plain(p + "input_layernorm.bias", [hidden], layer: layer, role: .norm)
    }
    builder.plain("model.final_layernorm.weight", [hidden], layer: nil, role: .norm)
    builder.plain("model.final_layernorm.bias", [hidden], layer: nil, role: .norm)
    builder.plain("lm_head.weight", [vocab, hidden], layer: nil, role: .head)
    builder.plain("lm_head.bias", [vocab], layer: nil, role: .head)
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
      tied: false,
      tensors: builder.tensors,
      quantization: quantization,
      notes: []
    )
  }
}
