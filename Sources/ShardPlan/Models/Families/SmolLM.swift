extension ModelFamily {
  /// SmolLM3: a Llama-style decoder (every fourth layer without RoPE, which changes
  /// no tensor and no cache), embeddings tied by default.
  static let smolLM3 = ModelFamily(
    name: "SmolLM3",
    modelTypes: ["smollm3"],
    ggufArchitectures: ["smollm3"],
    reading: .decoder(DecoderTraits(tiedByDefault: true, mlpBias: .init(key: "mlp_bias", fallback: false))),
    rotaryModule: true
  )
}
