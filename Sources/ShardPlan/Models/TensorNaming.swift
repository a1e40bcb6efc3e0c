/// Derives a tensor's decoder layer and role from its name, for tensor lists
/// read from files (safetensors, GGUF) rather than generated from config.json.
enum TensorNaming {
  /// The layer index in `model.layers.12.…`, `h.12.…`, `encoder.layer.12.…` or `blk.12.…`.
  static func layer(of name: String) -> Int? {
    let parts = name.split(separator: ".")
    for (index, part) in parts.enumerated() where ["layers", "h", "layer", "blk", "block", "blocks"].contains(part) {
      if index + 1 < parts.count, let number = Int(parts[index + 1]) { return number }
    }
    return nil
  }

  /// The expert index in `….experts.17.…`, when per-expert tensors are stored.
  static func expert(of name: String) -> Int? {
    let parts = name.split(separator: ".")
    for (index, part) in parts.enumerated() where part == "experts" {
      if index + 1 < parts.count, let number = Int(parts[index + 1]) { return number }
    }
    return nil
  }

  /// The role of a tensor by its name (Hugging Face and GGUF conventions).
  static func role(of name: String, layer: Int?, decoderLayers: Int) -> TensorRole {
    let lower = name.lowercased()
    if let layer, layer >= decoderLayers { return .multiTokenPrediction }
    if lower.contains("shared_expert") || lower.contains("shexp") { return .sharedExpert }
    if lower.contains("experts") || lower.contains("_exps") || lower.contains("block_sparse_moe.experts") {
      return .expert
    }
    if lower.contains("router") || lower.hasSuffix("mlp.gate.weight") || lower.contains("ffn_gate_inp")
      || lower.contains("block_sparse_moe.gate") || lower.contains("e_score_correction")
      || lower.contains("exp_probs_b")
    {
      return .router
    }
    if layer == nil {
      if lower.contains("embed_tokens") || lower.contains("wte") || lower.contains("word_embeddings")
        || lower.hasPrefix("token_embd")
      {
        return .embedding
      }
      if lower.contains("wpe") || lower.contains("position_embeddings") || lower.contains("token_type") {
        return .positionEmbedding
      }
      if lower.hasPrefix("lm_head") || lower.hasPrefix("output.") || lower == "output.weight" || lower.hasPrefix("cls.")
        || lower.contains("pooler")
      {
        return .head
      }
      if lower.contains("norm") { return .norm }
      return .other
    }
    if lower.contains("norm") && !lower.contains("proj") { return .norm }
    if lower.contains("attn") || lower.contains("attention") || lower.contains("sinks") { return .attention }
    if lower.contains("mlp") || lower.contains("ffn") || lower.contains("intermediate")
      || lower.contains("output.dense")
    {
      return .mlp
    }
    return .other
  }
}
