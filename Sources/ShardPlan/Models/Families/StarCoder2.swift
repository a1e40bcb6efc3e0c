extension ModelFamily {
  /// StarCoder2: biases on every linear (`use_bias`), LayerNorms with biases, a
  /// two-projection MLP (`c_fc`, `c_proj`), a sliding window on every layer.
  static let starCoder2 = ModelFamily(
    name: "StarCoder2",
    modelTypes: ["starcoder2"],
    ggufArchitectures: ["starcoder2"],
    reading: .decoder(
      DecoderTraits(
        attentionBias: .all(.init(key: "use_bias", fallback: true)),
        normBias: true,
        tiedByDefault: true,
        mlp: .plain(up: "c_fc", down: "c_proj"),
        mlpBias: .init(key: "use_bias", fallback: true)
      )
    ),
    slidingWindow: .everyLayer,
    rotaryModule: true
  )
}
