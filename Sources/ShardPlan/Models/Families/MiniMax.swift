extension ModelFamily {
  /// MiniMax-M2: full attention (GQA) with query and key norms over the whole
  /// projection, and 256 Mixtral-style experts (top 8) with a sigmoid router's
  /// score-correction bias in every layer. (MiniMax-Text-01 and M1, with lightning
  /// attention, are another family, not read yet.)
  static let miniMaxM2 = ModelFamily(
    name: "MiniMax-M2",
    modelTypes: ["minimax_m2"],
    ggufArchitectures: ["minimax-m2"],
    reading: .decoder(DecoderTraits(attentionBias: .never, qkNorm: .fullWidth, experts: .miniMax)),
    rotaryModule: true
  )
}
