extension ModelFamily {
  /// Cohere Command-R and R+: attention and MLP in parallel after one bias-free
  /// LayerNorm, embeddings tied to the head; with `use_qk_norm` (R+), query and
  /// key norms of `heads × head_dim`.
  static let cohere = ModelFamily(
    name: "Command-R",
    modelTypes: ["cohere"],
    ggufArchitectures: ["command-r"],
    reading: .decoder(DecoderTraits(qkNormWhenAsked: .fullWidth, norms: .parallel, tiedByDefault: true)),
    rotaryModule: true
  )
}
