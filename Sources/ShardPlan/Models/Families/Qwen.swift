extension ModelFamily {
  /// Qwen2 and Qwen2.5: biases on q, k and v.
  static let qwen2 = ModelFamily(
    name: "Qwen2",
    modelTypes: ["qwen2"],
    ggufArchitectures: ["qwen2"],
    reading: .decoder(DecoderTraits(attentionBias: true)),
    rotaryModule: true
  )

  /// Qwen2-MoE: routed experts on the sparse layers and a gated shared expert.
  static let qwen2MoE = ModelFamily(
    name: "Qwen2-MoE",
    modelTypes: ["qwen2_moe"],
    ggufArchitectures: ["qwen2moe"],
    reading: .decoder(DecoderTraits(attentionBias: true, experts: .qwen(sharedExpert: true))),
    rotaryModule: true
  )

  /// Qwen3: per-head RMS norms of queries and keys, no biases.
  static let qwen3 = ModelFamily(
    name: "Qwen3",
    modelTypes: ["qwen3"],
    ggufArchitectures: ["qwen3"],
    reading: .decoder(DecoderTraits(qkNorm: true)),
    rotaryModule: true
  )

  /// Qwen3-MoE: Qwen3 with routed experts (`mlp_only_layers`, `decoder_sparse_step`).
  static let qwen3MoE = ModelFamily(
    name: "Qwen3-MoE",
    modelTypes: ["qwen3_moe"],
    ggufArchitectures: ["qwen3moe"],
    reading: .decoder(DecoderTraits(qkNorm: true, experts: .qwen(sharedExpert: false))),
    rotaryModule: true
  )
}
