/// How a tensor's bytes are laid out.
package enum TensorStorage: Hashable, Sendable, Codable, CustomStringConvertible {
  /// One element per value of a dtype.
  case dense(TensorDType)
  /// ggml blocks (GGUF files).
  case ggml(GGMLType)

  /// Bytes of a tensor of `elements` values; nil when the count is not whole blocks.
  package func bytes(elements: Int64) -> Int64? {
    switch self {
    case .dense(let dtype):
      let (bytes, overflow) = elements.multipliedReportingOverflow(by: Int64(dtype.bytesPerElement))
      return overflow ? nil : bytes
    case .ggml(let type): return type.bytes(elements: elements)
    }
  }

  /// The text reports print.
  package var description: String {
    switch self {
    case .dense(let dtype): dtype.rawValue
    case .ggml(let type): type.name
    }
  }
}

/// What a tensor does in the model, for placement and for counting.
package enum TensorRole: String, Hashable, Sendable, Codable {
  case embedding, positionEmbedding, attention, norm, mlp, router, expert, sharedExpert, head, multiTokenPrediction
  case buffer, other
  /// A vision-language model's vision tower and projector, outside the decoder layers.
  case vision
}

/// One stored tensor: name, shape, storage and exact bytes.
public struct TensorSpec: Hashable, Sendable, Codable {
  /// The checkpoint's name (`model.layers.3.self_attn.q_proj.weight`).
  public var name: String
  /// Dimensions as stored.
  package var shape: [Int64]
  /// Storage type.
  package var storage: TensorStorage
  /// Exact bytes as stored.
  public var bytes: Int64
  /// Decoder layer index, or nil for tensors outside the layer stack.
  public var layer: Int?
  /// What the tensor does.
  package var role: TensorRole
  /// Values this tensor stands for. Equals the element count except for packed
  /// storage (two FP4 values per byte: twice the bytes) and for scales (0: not
  /// parameters).
  package var parameters: Int64
  /// For experts: the expert's index in its layer; nil otherwise.
  package var expert: Int?

  /// Number of stored elements.
  package var elements: Int64 { shape.reduce(1, *) }

  /// A tensor: `parameters` defaults to the element count.
  package init(
    name: String,
    shape: [Int64],
    storage: TensorStorage,
    bytes: Int64,
    layer: Int?,
    role: TensorRole,
    parameters: Int64? = nil,
    expert: Int? = nil
  ) {
    self.name = name
    self.shape = shape
    self.storage = storage
    self.bytes = bytes
    self.layer = layer
    self.role = role
    self.parameters = parameters ?? shape.reduce(1, *)
    self.expert = expert
  }
}

/// The attention of one decoder layer, for the KV cache.
package enum LayerAttention: Hashable, Sendable, Codable {
  /// Attends over the whole context.
  case full
  /// Attends over the last `window` tokens only.
  case sliding(window: Int)
  /// No KV cache and no state (an encoder layer).
  case none
  /// A recurrent or linear-attention layer (Mamba, Mamba-2, Gated DeltaNet): no
  /// KV cache, but a fixed state of `stateBytes` per sequence (convolution and
  /// recurrent state, in the float types the engine keeps them), whatever the context length.
  case recurrent(stateBytes: Int64)
  /// Full attention and a recurrent mixer side by side in one layer (Falcon-H1):
  /// a KV cache per token and a fixed state per sequence.
  case fullAndRecurrent(stateBytes: Int64)

  /// The recurrent state this layer keeps per sequence (0 for attention-only layers).
  package var stateBytes: Int64 {
    switch self {
    case .recurrent(let bytes), .fullAndRecurrent(let bytes): bytes
    case .full, .sliding, .none: 0
    }
  }
}

/// The attention shape of the model.
public struct AttentionSpec: Hashable, Sendable, Codable {
  /// Query heads.
  public var heads: Int
  /// Key/value heads (GQA: fewer than `heads`; MQA: 1).
  public var kvHeads: Int
  /// Dimension of each key head.
  package var keyHeadDim: Int
  /// Dimension of each value head.
  package var valueHeadDim: Int
  /// For MLA (DeepSeek): the compressed KV latent rank and the decoupled RoPE
  /// key dimension that the cache holds instead of per-head keys and values.
  package var mla: MLA?
  /// Per decoder layer, in order.
  package var layers: [LayerAttention]
  /// KV cache bytes per token and layer given by the user (`--kv-bytes-per-token`,
  /// spread evenly over the layers and rounded up) for an architecture shardplan
  /// does not know; it replaces the formula of the heads, and is not divided by
  /// tensor parallelism (each rank is taken to hold all of it: the safe side).
  package var kvBytesPerTokenPerLayer: Int64? = nil

  /// MLA cache dimensions.
  package struct MLA: Hashable, Sendable, Codable {
    /// Rank of the compressed KV latent (`kv_lora_rank`).
    package var kvLoraRank: Int
    /// Dimension of the decoupled RoPE key (`qk_rope_head_dim`).
    package var ropeHeadDim: Int
  }
}

/// Mixture-of-experts structure.
public struct MoESpec: Hashable, Sendable, Codable {
  /// Routed experts per MoE layer.
  public var routedExperts: Int
  /// Experts each token is routed to.
  public var expertsPerToken: Int
  /// Shared experts that every token uses (DeepSeek).
  package var sharedExperts: Int
  /// Decoder layers that are MoE layers.
  package var moeLayers: [Int]
}

/// A model as the planner needs it: its tensors with exact bytes, and the
/// shapes that decide KV cache, activations and splits.
public struct ModelSpec: Hashable, Sendable, Codable {
  /// The name it was read by (a Hub id, a path).
  public var name: String
  /// `model_type` of config.json, or `general.architecture` of a GGUF file.
  public var family: String
  /// Hidden size.
  package var hiddenSize: Int
  /// Decoder layers (without multi-token-prediction layers).
  public var layers: Int
  /// Multi-token-prediction layers stored after the decoder (DeepSeek-V3's MTP).
  package var extraLayers: Int
  /// Vocabulary size.
  package var vocabularySize: Int
  /// MLP intermediate size of dense layers.
  package var intermediateSize: Int
  /// Longest context the model was configured for, as vLLM derives it
  /// (``contextLimitSource`` says from what).
  public var maxContext: Int
  /// Attention shape.
  public var attention: AttentionSpec
  /// MoE structure, when the model has experts.
  public var moe: MoESpec?
  /// Whether the output head shares the embedding's weights.
  package var tiedEmbeddings: Bool
  /// Every stored tensor, in checkpoint order.
  public var tensors: [TensorSpec]
  /// Where the tensor list came from.
  package var tensorSource: TensorSource
  /// Quantization named by the checkpoint (`fp8`, `mxfp4`, `gptq` …), if any.
  package var quantization: String?
  /// Things a person should know about how this model was read.
  public var notes: [String]
  /// config.json's `model_type` when no family descriptor reads it
  /// (``unknownArchitecture``): its tensors can still be exact, from safetensors
  /// headers, but its KV cache or recurrent state is not known, so inference is
  /// refused until one is given (``withKVBytesPerToken(_:)``).
  package var unknownArchitecture: String? = nil
  /// Where ``maxContext`` comes from (`max_position_embeddings 40960`, a RoPE
  /// scaling factor, GGUF `context_length`); nil when the reader assumed it.
  package var contextLimitSource: String? = nil
  /// The positions the model was trained on when its config extends them by RoPE
  /// scaling (`original_max_position_embeddings`); nil otherwise.
  package var trainedContext: Int? = nil
  /// The config.json text a quantized checkpoint's tensors were derived from, so
  /// that ``converted(to:)`` can start from the unquantized model the config
  /// describes (nil when not read from a config.json, or not quantized).
  package var quantizedConfig: String? = nil
  /// The `model_type` of the multimodal wrapper this language model was read from
  /// (`gemma3`, `qwen2_5_vl`, `qwen3_5_moe` …), whose transformers class nests it as
  /// `model.language_model` beside its vision tower: device maps name modules so.
  package var multimodalWrapper: String? = nil

  /// Whether inference can be priced: the architecture is known, or the KV cache
  /// per token was given.
  package var kvCacheIsKnown: Bool { unknownArchitecture == nil || attention.kvBytesPerTokenPerLayer != nil }

  /// The same model with its KV cache given as `bytes` per token over all layers
  /// (the usual per-token figure of an engine's log or a model card), spread
  /// evenly over the layers, every layer attending over the whole context.
  package func withKVBytesPerToken(_ bytes: Int64) -> ModelSpec {
    var copy = self
    let layers = Int64(max(self.layers, 1))
    copy.attention.kvBytesPerTokenPerLayer = (bytes + layers - 1) / layers
    copy.attention.layers = Array(repeating: .full, count: self.layers)
    copy.notes.append(
      "KV cache given as \(bytes) bytes per token (\(copy.attention.kvBytesPerTokenPerLayer ?? 0) per layer), not derived"
    )
    return copy
  }

  /// Whether the model is an encoder (BERT, RoBERTa, embedding and reranker
  /// models): no layer keeps a KV cache or a state, nothing is decoded; it is
  /// served by a pooling runner and its speed is encoding.
  package var isEncoder: Bool { !attention.layers.isEmpty && attention.layers.allSatisfy { $0 == .none } }

  /// Whether attention projects Q, K and V in one fused tensor (GPT-NeoX's
  /// `query_key_value`, Phi-3's `qkv_proj`, GPT-2's `c_attn`, a GGUF file's
  /// `attn_qkv`), which sizes llama.cpp's compute buffer and quantization.
  package var hasFusedQKV: Bool {
    tensors.contains { tensor in
      tensor.role == .attention && tensor.layer == 0
        && ["query_key_value", "qkv_proj", "attn_qkv", "c_attn"].contains { tensor.name.contains($0) }
    }
  }

  /// Exact bytes of all stored tensors.
  public var weightBytes: Int64 { tensors.reduce(0) { $0 + $1.bytes } }

  /// Parameters: the values the tensors stand for (packed FP4 counts two per
  /// byte; quantization scales and non-parameter buffers are not counted).
  public var parameters: Int64 {
    tensors.filter { $0.role != .buffer }.reduce(0) { $0 + $1.parameters }
  }

  /// Parameters used for one token: everything except the routed experts a token
  /// does not visit (k of E per MoE layer) and the MTP layers.
  public var activeParameters: Int64 {
    var total: Int64 = 0
    var routed: Int64 = 0
    for tensor in tensors where tensor.role != .buffer && tensor.role != .multiTokenPrediction {
      if tensor.role == .expert { routed += tensor.parameters } else { total += tensor.parameters }
    }
    guard let moe, moe.routedExperts > 0 else { return total + routed }
    // Each MoE layer holds `routedExperts` experts of equal size; a token uses k.
    return total + routed * Int64(moe.expertsPerToken) / Int64(moe.routedExperts)
  }

  /// The context planned when none is asked for: the model's own, capped at
  /// `cap` tokens (8192 for serving, 2048 for training), so that a 128k model is
  /// not planned at 128k unless asked.
  package func defaultContext(cap: Int = 8192) -> Int { min(maxContext, cap) }

  /// Bytes per decoder layer (index = layer), MTP layers excluded.
  package var layerBytes: [Int64] {
    var bytes = [Int64](repeating: 0, count: layers)
    for tensor in tensors {
      if let layer = tensor.layer, layer < layers { bytes[layer] += tensor.bytes }
    }
    return bytes
  }

  /// Bytes outside the decoder layers: embeddings, final norm, head, MTP layers.
  package var nonLayerBytes: Int64 {
    tensors.filter { ($0.layer ?? Int.max) >= layers }.reduce(0) { $0 + $1.bytes }
  }

  /// Parameters of the module that holds the most of its own (not its
  /// children's): DeepSpeed's `largest_layer_params` (its `model_to_params` in
  /// stage3.py), for Llama-3.1-8B the 128256 × 4096 embedding.
  package var largestModuleParameters: Int64 {
    var modules: [String: Int64] = [:]
    for tensor in tensors {
      let module = tensor.name.split(separator: ".", omittingEmptySubsequences: false).dropLast().joined(separator: ".")
      modules[module, default: 0] += tensor.parameters
    }
    return modules.values.max() ?? 0
  }

  /// The largest unit placed whole on one device: the largest decoder layer,
  /// or the embedding or the head when bigger (as accelerate's
  /// `calculate_maximum_sizes` reports it).
  package var largestLayerBytes: Int64 {
    let embedding = tensors.filter { $0.role == .embedding }.map(\.bytes).max() ?? 0
    let head = tensors.filter { $0.role == .head }.map(\.bytes).max() ?? 0
    return max(layerBytes.max() ?? 0, embedding, head)
  }
}

/// Where a model's tensor list came from. Encoded in JSON as its description.
package enum TensorSource: Hashable, Sendable, Codable, CustomStringConvertible {
  /// Derived from config.json's shapes (exact for the families the reader knows).
  case config
  /// Read from safetensors headers; `origin` says from where when it is not a
  /// local folder (the Hub's endpoint).
  case safetensors(origin: String?)
  /// Read from a GGUF file's header: tensors already quantized.
  case gguf

  /// The text reports print.
  package var description: String {
    switch self {
    case .config: "config.json"
    case .safetensors(nil): "safetensors"
    case .safetensors(let origin?): "safetensors headers from \(origin)"
    case .gguf: "gguf"
    }
  }

  /// Whether the tensors are a GGUF file's (already quantized, not converted).
  package var isGGUF: Bool { self == .gguf }

  /// A tensor: `parameters` defaults to the element count.
  package init(from decoder: any Decoder) throws {
    let text = try decoder.singleValueContainer().decode(String.self)
    switch text {
    case "config.json": self = .config
    case "gguf": self = .gguf
    case "safetensors": self = .safetensors(origin: nil)
    default:
      self = .safetensors(origin: text.hasPrefix("safetensors headers from ") ? String(text.dropFirst(25)) : text)
    }
  }

  /// Encodes the value in its JSON form.
  package func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(description)
  }
}
