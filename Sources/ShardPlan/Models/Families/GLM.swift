extension ModelFamily {
  /// GLM-4.5 and GLM-4.5-Air: standard GQA attention (biases on q, k, v;
  /// `use_qk_norm` per head) and DeepSeek-V3's MoE: first dense layers, routed and
  /// shared experts, a float32 score-correction bias. The multi-token-prediction
  /// layer the checkpoint stores is said, not counted.
  static let glm4MoE = ModelFamily(
    name: "GLM-4.5",
    modelTypes: ["glm4_moe"],
    ggufArchitectures: ["glm4moe"],
    reading: .decoder(
      DecoderTraits(
        attentionBias: .queryKeyValue(.init(key: "attention_bias", fallback: false)),
        qkNormWhenAsked: .perHead,
        experts: .deepSeekStyle
      )
    ),
    rotaryModule: true
  )
}
