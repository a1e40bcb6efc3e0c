/// Everything shardplan knows about one architecture family, in one place: the
/// `model_type` values of its config.json and the `general.architecture` of its
/// GGUF files, how its config becomes a tensor list, which layers attend over a
/// sliding window, and the module names accelerate's `device_map` needs. Each
/// family is one file in `Models/Families/`; ``all`` lists them.
struct ModelFamily: Sendable {
  /// How a family's config.json becomes tensors.
  enum Reading: Sendable {
    /// A Llama-style decoder (`model.layers.N.self_attn.*`, `mlp.*`) with the
    /// family's variations.
    case decoder(DecoderTraits)
    /// A reader of its own (DeepSeek's MLA, gpt-oss's MXFP4 experts, GPT-2, BERT, Phi-2).
    case custom(@Sendable (Config, String) throws -> ModelSpec)
    /// None: shardplan reads its tensors from safetensors headers or a GGUF file,
    /// and from config.json only as an unknown Llama-style decoder, saying so.
    case tensorsOnly
  }

  /// How a Llama-style decoder of the family differs from Llama.
  struct DecoderTraits: Sendable {
    /// Where routed experts live.
    enum Experts: Sendable {
      /// No experts, unless the config names them (`num_local_experts`, `num_experts`).
      case inferred
      /// Mixtral: `block_sparse_moe.experts.E.w1/w2/w3` in every layer.
      case mixtral
      /// Qwen MoE: `mlp.experts.E.*` on the sparse layers; with a gated shared
      /// expert for Qwen2-MoE.
      case qwen(sharedExpert: Bool)
    }
    /// Biases on the q, k and v projections when config.json does not say (`attention_bias`).
    var attentionBias = false
    /// RMS norms of queries and keys per head (`q_norm`, `k_norm`).
    var qkNorm = false
    /// Norms before and after the MLP too (Gemma 2 and 3).
    var sandwichNorms = false
    /// Fused `qkv_proj` and `gate_up_proj` (Phi-3).
    var fusedProjections = false
    /// Embeddings tied to the head when config.json does not say.
    var tiedByDefault = false
    /// Its experts.
    var experts = Experts.inferred
  }

  /// Which layers attend over a sliding window when the config or GGUF file gives one.
  enum SlidingWindow: Sendable {
    /// Every layer (Mistral, Mixtral; GGUF files of an unknown family).
    case everyLayer
    /// Even layers local, odd layers global (Gemma 2; gpt-oss GGUF).
    case evenLayers
    /// Every `period`-th layer global, the rest local (Gemma 3: `sliding_window_pattern`, 6 by default).
    case everyNthGlobal(defaultPeriod: Int)
    /// Only with `use_sliding_window`, from `max_window_layers` on (Qwen2/3; config.json of an unknown family).
    case fromMaxWindowLayers
  }

  /// Its name in reports.
  var name: String
  /// config.json `model_type` values.
  var modelTypes: [String]
  /// GGUF `general.architecture` values.
  var ggufArchitectures: [String] = []
  /// How config.json is read.
  var reading: Reading
  /// Its sliding-window rule.
  var slidingWindow: SlidingWindow = .fromMaxWindowLayers
  /// transformers' `base_model_prefix`, for checkpoints whose tensor names leave it out.
  var baseModelPrefix: String? = nil
  /// Whether the transformers model keeps a rotary-embedding module (computed
  /// `inv_freq` buffers, in no checkpoint) that a `device_map` must place.
  var rotaryModule = false
  /// The output head's module, which a tied checkpoint leaves out; nil when the model has none.
  var headModule: String? = "lm_head"

  /// Every family shardplan knows, one per file in `Models/Families/`.
  static let all: [ModelFamily] =
    [
      .llama, .mistral, .mixtral, .qwen2, .qwen2MoE, .qwen3, .qwen3MoE, .gemma, .gemma2, .gemma3, .phi3, .phi2,
      .deepSeekV2, .deepSeekV3, .gptOSS, .gpt2, .bert, .roberta,
    ] + tensorsOnlyFamilies

  /// The family of a config.json `model_type`, or nil.
  static func named(modelType: String) -> ModelFamily? {
    all.first { $0.modelTypes.contains(modelType) }
  }

  /// The family of a GGUF `general.architecture`, or nil.
  static func named(ggufArchitecture: String) -> ModelFamily? {
    all.first { $0.ggufArchitectures.contains(ggufArchitecture) }
  }

  /// The family a model was read as: by its `model_type`, else its GGUF architecture.
  static func of(_ model: ModelSpec) -> ModelFamily? {
    named(modelType: model.family) ?? named(ggufArchitecture: model.family)
  }

  /// The attention of each of `layers` layers under this rule with `window`.
  func layerAttention(
    layers: Int,
    window: Int,
    period: Int?,
    useSlidingWindow: Bool,
    maxWindowLayers: Int?
  )
    -> [LayerAttention]
  {
    Self.layerAttention(
      slidingWindow,
      layers: layers,
      window: window,
      period: period,
      useSlidingWindow: useSlidingWindow,
      maxWindowLayers: maxWindowLayers
    )
  }

  /// The attention of each of `layers` layers under `rule` with `window`.
  static func layerAttention(
    _ rule: SlidingWindow,
    layers: Int,
    window: Int,
    period: Int?,
    useSlidingWindow: Bool,
    maxWindowLayers: Int?
  ) -> [LayerAttention] {
    switch rule {
    case .everyLayer:
      return Array(repeating: .sliding(window: window), count: layers)
    case .evenLayers:
      // transformers Gemma2: even layers are local (sliding), odd layers global.
      return (0..<layers).map { $0 % 2 == 0 ? .sliding(window: window) : .full }
    case .everyNthGlobal(let defaultPeriod):
      let period = max(period ?? defaultPeriod, 1)
      return (0..<layers).map { ($0 + 1) % period == 0 ? .full : .sliding(window: window) }
    case .fromMaxWindowLayers:
      // Qwen2/3 carry a sliding_window value but use it only with use_sliding_window.
      guard useSlidingWindow else { return Array(repeating: .full, count: layers) }
      let firstFull = maxWindowLayers ?? layers
      return (0..<layers).map { $0 >= firstFull ? .sliding(window: window) : .full }
    }
  }
}
