extension ModelFamily {
  /// Gemma: embeddings tied to the head unless config.json says otherwise.
  static let gemma = ModelFamily(
    name: "Gemma",
    modelTypes: ["gemma"],
    ggufArchitectures: ["gemma"],
    reading: .decoder(DecoderTraits(tiedByDefault: true)),
    rotaryModule: true
  )

  /// Gemma 2: norms around the MLP too; even layers local (sliding window), odd global.
  static let gemma2 = ModelFamily(
    name: "Gemma 2",
    modelTypes: ["gemma2"],
    ggufArchitectures: ["gemma2"],
    reading: .decoder(DecoderTraits(norms: .sandwich, tiedByDefault: true)),
    slidingWindow: .evenLayers,
    llamaCppSlidingWindow: true,
    rotaryModule: true
  )

  /// Gemma 3 (text, and the language model of the multimodal `gemma3` in
  /// `text_config`): query and key norms, every sixth layer global.
  static let gemma3 = ModelFamily(
    name: "Gemma 3",
    modelTypes: ["gemma3_text", "gemma3"],
    ggufArchitectures: ["gemma3"],
    reading: .decoder(DecoderTraits(qkNorm: .perHead, norms: .sandwich, tiedByDefault: true)),
    slidingWindow: .everyNthGlobal(defaultPeriod: 6),
    llamaCppSlidingWindow: true,
    rotaryModule: true
  )
}
