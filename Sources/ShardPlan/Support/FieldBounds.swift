/// The physical range of each size a model file or server states: the one rule
/// every reader applies to an untrusted number before it is used in arithmetic.
/// The bounds are generous (several times the largest model known) but finite,
/// so products of them cannot overflow 64 bits and a hostile value is refused
/// where it is read, naming its field and range.
package enum FieldBounds {
  /// A kind of size and its range.
  package enum Kind: Sendable {
    /// Decoder layers: 1 to 4096.
    case layers
    /// Attention heads or KV heads: 0 (no attention on that layer) to 1024.
    case heads
    /// Model (hidden) width: 1 to 2^20.
    case hidden
    /// Per-head key or value width: 1 to 65536.
    case headDim
    /// MLP or expert width: 0 to 2^22.
    case feedForward
    /// Vocabulary: 1 to 2^24.
    case vocabulary
    /// Context positions: 1 to 2^24 (16.7 M tokens; Llama 4 Scout's 10 M fits).
    case context
    /// Routed experts, or experts per token: 0 to 4096.
    case experts

    /// The allowed range.
    package var range: ClosedRange<Int> {
      switch self {
      case .layers: 1...4096
      case .heads: 0...1024
      case .hidden: 1...(1 << 20)
      case .headDim: 1...65536
      case .feedForward: 0...(1 << 22)
      case .vocabulary: 1...(1 << 24)
      case .context: 1...(1 << 24)
      case .experts: 0...4096
      }
    }
  }

  /// Every config.json size key with a physical bound, and its kind.
  package static let configKeys: [String: Kind] = {
    var keys: [String: Kind] = [:]
    for key in ["num_hidden_layers", "n_layer", "num_layers", "n_layers"] { keys[key] = .layers }
    for key in ["num_attention_heads", "num_key_value_heads", "n_head", "num_heads", "n_head_kv", "num_kv_heads"] {
      keys[key] = .heads
    }
    for key in ["hidden_size", "n_embd", "d_model", "dim"] { keys[key] = .hidden }
    for key in ["head_dim", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim", "kv_lora_rank", "q_lora_rank"] {
      keys[key] = .headDim
    }
    for key in [
      "intermediate_size", "moe_intermediate_size", "n_inner", "ffn_hidden_size", "shared_expert_intermediate_size",
    ] {
      keys[key] = .feedForward
    }
    keys["vocab_size"] = .vocabulary
    for key in [
      "max_position_embeddings", "n_positions", "seq_length", "max_seq_len", "original_max_position_embeddings",
    ] {
      keys[key] = .context
    }
    for key in [
      "num_local_experts", "num_experts", "n_routed_experts", "num_experts_per_tok", "n_shared_experts", "moe_topk",
      "top_k",
    ] {
      keys[key] = .experts
    }
    return keys
  }()

  /// The kind of a config.json key, or nil for keys without a physical bound here.
  package static func kind(ofConfigKey key: String) -> Kind? { configKeys[key] }

  /// The kind of a GGUF metadata key (after `ARCH.`), or nil.
  package static func kind(ofGGUFKey suffix: String) -> Kind? {
    switch suffix {
    case "block_count": .layers
    case "attention.head_count", "attention.head_count_kv": .heads
    case "embedding_length": .hidden
    case "attention.key_length", "attention.value_length", "rope.dimension_count", "attention.kv_lora_rank":
      .headDim
    case "feed_forward_length", "expert_feed_forward_length", "expert_shared_feed_forward_length": .feedForward
    case "vocab_size": .vocabulary
    case "context_length": .context
    case "expert_count", "expert_used_count", "expert_shared_count": .experts
    default: nil
    }
  }

  /// `value` if it lies in `kind`'s range, else an error naming `field` in `source`.
  package static func check(_ value: Int, _ kind: Kind, field: String, source: String) throws -> Int {
    guard kind.range.contains(value) else {
      throw InputError(
        .malformed,
        source: source,
        field: field,
        message: "'\(field)' is \(value), outside what any model has",
        expected: "a whole number from \(kind.range.lowerBound) to \(kind.range.upperBound)",
        fix: "Use the model's original file; a value this far out is a damaged or hostile file"
      )
    }
    return value
  }
}
