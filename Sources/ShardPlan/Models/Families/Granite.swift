extension ModelFamily {
  /// IBM Granite 3.x (dense): a Llama-style decoder (`attention_bias`, `mlp_bias`
  /// from config.json; the embedding, residual and logit multipliers are scalars).
  static let granite = ModelFamily(
    name: "Granite",
    modelTypes: ["granite"],
    ggufArchitectures: ["granite"],
    reading: .decoder(DecoderTraits(mlpBias: .init(key: "mlp_bias", fallback: false))),
    rotaryModule: true
  )

  /// IBM Granite MoE: every layer's experts stacked in `block_sparse_moe.input_linear`
  /// and `output_linear`, with a router.
  static let graniteMoE = ModelFamily(
    name: "Granite MoE",
    modelTypes: ["granitemoe"],
    ggufArchitectures: ["granitemoe"],
    reading: .decoder(DecoderTraits(experts: .graniteStacked)),
    rotaryModule: true
  )
}
