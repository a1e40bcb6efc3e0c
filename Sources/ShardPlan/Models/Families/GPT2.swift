import Foundation

extension ModelFamily {
  /// GPT-2: learned positions, fused `c_attn`, Conv1D weights stored transposed.
  static let gpt2 = ModelFamily(
    name: "GPT-2",
    modelTypes: ["gpt2"],
    ggufArchitectures: ["gpt2"],
    reading: .custom { config, name in try config.buildGPT2(name: name) },
    baseModelPrefix: "transformer"
  )
}

extension Config {
  func buildGPT2(name: String) throws -> ModelSpec {
    let family = modelType
    let hidden = try int("n_embd", family: family)
    let layers = try int("n_layer", family: family)
    let heads = try int("n_head", family: family)
    let vocab = try int("vocab_size", family: family)
    let positions = try int("n_positions", family: family)
    let inner = try optionalInt("n_inner") ?? 4 * hidden
    var builder = TensorListBuilder(
      dtype: json["torch_dtype"] == nil ? .f32 : dtype,
      linear: .unquantized(dtype),
      skip: []
    )
    builder.plain("wte.weight", [vocab, hidden], layer: nil, role: .embedding)
    builder.plain("wpe.weight", [positions, hidden], layer: nil, role: .positionEmbedding)
    for layer in 0..<layers {
      let p = "h.\(layer)."
      // GPT-2's Conv1D stores weights as [in, out].
      builder.plain(p + "ln_1.weight", [hidden], layer: layer, role: .norm)
      builder.plain(p + "ln_1.bias", [hidden], layer: layer, role: .norm)
      builder.plain(p + "attn.c_attn.weight", [hidden, 3 * hidden], layer: layer, role: .attention)
      builder.plain(p + "attn.c_attn.bias", [3 * hidden], layer: layer, role: .attention)
      builder.plain(p + "attn.c_proj.weight", [hidden, hidden], layer: layer, role: .attention)
      builder.plain(p + "attn.c_proj.bias", [hidden], layer: layer, role: .attention)
      builder.plain(p + "ln_2.weight", [hidden], layer: layer, role: .norm)
      builder.plain(p + "ln_2.bias", [hidden], layer: layer, role: .norm)
      builder.plain(p + "mlp.c_fc.weight", [hidden, inner], layer: layer, role: .mlp)
      builder.plain(p + "mlp.c_fc.bias", [inner], layer: layer, role: .mlp)
      builder.plain(p + "mlp.c_proj.weight", [inner, hidden], layer: layer, role: .mlp)
      builder.plain(p + "mlp.c_proj.bias", [hidden], layer: layer, role: .mlp)
      // The original checkpoint stores each layer's causal mask (a buffer, not a parameter).
      builder.plain(p + "attn.bias", [1, 1, positions, positions], layer: layer, role: .buffer)
    }
    builder.plain("ln_f.weight", [hidden], layer: nil, role: .norm)
    builder.plain("ln_f.bias", [hidden], layer: nil, role: .norm)
    return try standardSpec(
      name: name,
      family: family,
      hidden: hidden,
      layers: layers,
      heads: heads,
      kvHeads: heads,
      headDim: hidden / max(heads, 1),
      vocab: vocab,
      intermediate: inner,
      defaultContext: positions,
      attentionLayers: Array(repeating: .full, count: layers),
      moe: nil,
      tied: true,
      tensors: builder.tensors,
      quantization: nil,
      notes: [
        "the checkpoint stores a \(positions)×\(positions) causal-mask buffer per layer (attn.bias), counted in the bytes but not as parameters"
      ]
    )
  }
}
