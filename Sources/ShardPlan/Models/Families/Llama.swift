extension ModelFamily {
  /// Llama 1, 2, 3.x (and TinyLlama): the plain decoder every other reads against.
  static let llama = ModelFamily(
    name: "Llama",
    modelTypes: ["llama"],
    ggufArchitectures: ["llama"],
    reading: .decoder(DecoderTraits()),
    rotaryModule: true
  )

  /// Mistral: Llama with a sliding window on every layer.
  static let mistral = ModelFamily(
    name: "Mistral",
    modelTypes: ["mistral"],
    reading: .decoder(DecoderTraits()),
    slidingWindow: .everyLayer,
    rotaryModule: true
  )

  /// Mixtral: Mistral with eight experts (`block_sparse_moe`) in every layer.
  static let mixtral = ModelFamily(
    name: "Mixtral",
    modelTypes: ["mixtral"],
    reading: .decoder(DecoderTraits(experts: .mixtral)),
    slidingWindow: .everyLayer,
    rotaryModule: true
  )
}
