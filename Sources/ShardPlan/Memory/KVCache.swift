/// Element type of the KV cache.
public enum KVCacheType: String, Hashable, Sendable, CaseIterable, Codable {
  case f32, f16, bf16, fp8
  /// llama.cpp block types: 34 bytes per 32 values (Q8_0), 18 per 32 (Q4_0).
  case q8_0, q4_0, q4_1, q5_0, q5_1, iq4_nl

  /// Parses `--kv-dtype` (`auto` is the weights' float type, resolved by the caller).
  package init?(name: String) {
    switch name.lowercased() {
    case "fp8", "fp8_e4m3", "fp8_e5m2", "f8": self = .fp8
    case "float16", "half": self = .f16
    case "bfloat16": self = .bf16
    default:
      guard let type = KVCacheType(rawValue: name.lowercased()) else { return nil }
      self = type
    }
  }

  /// Bytes of a row of `values` cache entries.
  ///
  /// Block types store whole blocks: `⌈values / 32⌉` blocks (llama.cpp requires
  /// rows that are whole blocks; a partial block is counted whole).
  package func rowBytes(values: Int64) -> Int64 {
    switch self {
    case .f32: values * 4
    case .f16, .bf16: values * 2
    case .fp8: values
    case .q8_0: (values + 31) / 32 * 34
    case .q4_0, .iq4_nl: (values + 31) / 32 * 18
    case .q4_1: (values + 31) / 32 * 20
    case .q5_0: (values + 31) / 32 * 22
    case .q5_1: (values + 31) / 32 * 24
    }
  }
}

/// KV cache arithmetic for a model, by layer type.
///
/// Per token and layer:
/// - full or sliding attention (MHA / GQA / MQA): `kv_heads × (key_dim + value_dim)`
///   cache entries — a key and a value per KV head;
/// - MLA (DeepSeek-V2/V3): the compressed latent and the decoupled RoPE key,
///   `kv_lora_rank + rope_dim` entries, shared by all heads (what vLLM and
///   llama.cpp cache);
/// - layers without attention state (encoders): nothing;
/// - recurrent layers (Mamba, Gated DeltaNet): no per-token entries, but a fixed
///   state per sequence, split over tensor-parallel ranks by heads and channels
///   (vLLM's and SGLang's hybrid-model cache: the state is not quantized with the
///   KV cache type).
///
/// A sliding-window layer never holds more than `window` tokens of a sequence.
/// With tensor parallelism of degree t, each rank holds `max(1, kv_heads / t)` KV
/// heads (vLLM's rule: heads are replicated when t exceeds them), and an MLA
/// latent whole.
package struct KVCacheModel: Hashable, Sendable {
  /// The model’s attention shape.
  package var attention: AttentionSpec
  /// The cache’s element type.
  package var type: KVCacheType

  /// The cache arithmetic of `attention` in `type`.
  package init(attention: AttentionSpec, type: KVCacheType) {
    self.attention = attention
    self.type = type
  }

  /// Cache entries per token of one layer on one rank.
  func entriesPerToken(_ layer: LayerAttention, tensorParallel: Int) -> Int64 {
    switch layer {
    case .none, .recurrent: return 0
    case .full, .sliding, .fullAndRecurrent: break
    }
    if let mla = attention.mla { return Int64(mla.kvLoraRank + mla.ropeHeadDim) }
    let heads = max(1, attention.kvHeads / max(tensorParallel, 1))
    return Int64(heads) * Int64(attention.keyHeadDim + attention.valueHeadDim)
  }

  /// Bytes one token adds to one layer's cache on one rank. Keys and values are
  /// stored as separate rows (llama.cpp: `ctk` and `ctv`), each rounded to blocks.
  func bytesPerToken(_ layer: LayerAttention, tensorParallel: Int) -> Int64 {
    switch layer {
    case .none, .recurrent: return 0
    case .full, .sliding, .fullAndRecurrent: break
    }
    // Given by the user for an unknown architecture: bytes as given, in whatever type.
    if let given = attention.kvBytesPerTokenPerLayer { return given }
    if let mla = attention.mla { return type.rowBytes(values: Int64(mla.kvLoraRank + mla.ropeHeadDim)) }
    let heads = Int64(max(1, attention.kvHeads / max(tensorParallel, 1)))
    return type.rowBytes(values: heads * Int64(attention.keyHeadDim))
      + type.rowBytes(values: heads * Int64(attention.valueHeadDim))
  }

  /// Bytes one token adds over all layers on one rank, sliding layers included
  /// (they stop growing once the window is full).
  package func bytesPerToken(tensorParallel: Int = 1) -> Int64 {
    attention.layers.reduce(0) { $0 + bytesPerToken($1, tensorParallel: tensorParallel) }
  }

  /// Recurrent state one sequence holds over all layers on one rank (0 for a
  /// model without recurrent layers).
  package func stateBytesPerSequence(tensorParallel: Int = 1) -> Int64 {
    attention.layers.reduce(0) { $0 + stateBytes($1, tensorParallel: tensorParallel) }
  }

  /// The state of one sequence in one layer on one rank.
  func stateBytes(_ layer: LayerAttention, tensorParallel: Int) -> Int64 {
    let bytes = layer.stateBytes
    let ranks = Int64(max(tensorParallel, 1))
    return (bytes + ranks - 1) / ranks
  }

  /// Bytes each layer holds on one rank for `sequences` sequences of `context`
  /// tokens: its KV cache (sliding windows capped) or its recurrent state.
  ///
  /// - Parameter blockSize: paged-attention block size (vLLM: 16); each sequence's
  ///   token count is rounded up to whole blocks. 1 for contiguous caches.
  package func layerBytes(context: Int, sequences: Int, tensorParallel: Int = 1, blockSize: Int = 1) -> [Int64] {
    let block = Int64(max(blockSize, 1))
    return attention.layers.map { layer in
      var tokens = Int64(context)
      if case .sliding(let window) = layer { tokens = min(tokens, Int64(window)) }
      tokens = (tokens + block - 1) / block * block
      let perSequence =
        tokens * bytesPerToken(layer, tensorParallel: tensorParallel)
        + stateBytes(layer, tensorParallel: tensorParallel)
      return perSequence * Int64(sequences)
    }
  }

  /// Bytes of the cache for `sequences` sequences of `context` tokens on one rank:
  /// KV cache and recurrent state together (``layerBytes(context:sequences:tensorParallel:blockSize:)``).
  package func bytes(context: Int, sequences: Int, tensorParallel: Int = 1, blockSize: Int = 1) -> Int64 {
    layerBytes(context: context, sequences: sequences, tensorParallel: tensorParallel, blockSize: blockSize)
      .reduce(0, +)
  }
}
