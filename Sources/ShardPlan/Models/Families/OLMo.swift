extension ModelFamily {
  /// OLMo 2: norms after attention and after the MLP only, and query and key
  /// norms over the whole projection (`heads × head_dim`).
  static let olmo2 = ModelFamily(
    name: "OLMo 2",
    modelTypes: ["olmo2"],
    ggufArchitectures: ["olmo2"],
    reading: .decoder(DecoderTraits(qkNorm: .fullWidth, norms: .postOnly)),
    rotaryModule: true
  )
}
