extension ModelFamily {
  /// Llama 1, 2, 3.x (and TinyLlama): the plain decoder every other reads against.
  static let llama = ModelFamily(
    name: "Llama",
    modelTypes: ["llama"],
    ggufArchitectures: ["llama"],
    reading: .decoder(DecoderTraits(mlpBias: .init(key: "mlp_bias", fallback: false))),
    rotaryModule: true
  )

  /// InternLM3: Llama's layers (transformers builds it as a Llama), its biases
  /// switched by `qkv_bias` (attention, output projection included) and `bias` (MLP),
  /// the names its config.json uses for `attention_bias` and `mlp_bias`.
  static let internLM3 = ModelFamily(
    name: "InternLM3",
    modelTypes: ["internlm3"],
    reading: .decoder(
      DecoderTraits(
        attentionBias: .all(.init(key: "attention_bias", fallback: false, alias: "qkv_bias")),
        mlpBias: .init(key: "mlp_bias", fallback: false, alias: "bias")
      )
    ),
    rotaryModule: true
  )

  /// Mistral: Llama with a sliding window on every layer.
  static let mistral = ModelFamily(
    name: "Mistral",
    modelTypes: ["mistral", "ministral"],
    reading: .decoder(DecoderTraits(attentionBias: .never)),
    slidingWindow: .everyLayer,
    rotaryModule: true
  )

  /// Mixtral: Mistral with eight experts (`block_sparse_moe`) in every layer.
  static let mixtral = ModelFamily(
    name: "Mixtral",
    modelTypes: ["mixtral"],
    reading: .decoder(DecoderTraits(attentionBias: .never, experts: .mixtral)),
    slidingWindow: .everyLayer,
    rotaryModule: true
  )

  /// Llama 4 Scout and Maverick (the language model of `llama4`, in `text_config`):
  /// 16 or 128 experts stacked per layer with a router and a shared expert on the
  /// MoE layers (every layer for Scout, every second for Maverick), dense MLPs of
  /// `intermediate_size_mlp` between; chunked local attention (8192 tokens) on three
  /// layers of four, full attention without RoPE on the fourth.
  static let llama4 = ModelFamily(
    name: "Llama 4",
    modelTypes: ["llama4_text", "llama4"],
    ggufArchitectures: ["llama4"],
    reading: .decoder(DecoderTraits(experts: .llama4)),
    llamaCppSlidingWindow: true,
    sglangSlidingWindow: true,
    rotaryModule: true
  )
}
