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
      /// MiniMax-M2: Mixtral's layout with a sigmoid router's score-correction bias
      /// (`block_sparse_moe.e_score_correction_bias`).
      case miniMax
      /// Qwen MoE: `mlp.experts.E.*` on the sparse layers; with a gated shared
      /// expert for Qwen2-MoE and Qwen3-Next.
      case qwen(sharedExpert: Bool)
      /// Granite MoE: every layer's experts in two stacked tensors
      /// (`block_sparse_moe.input_linear` [E, 2I, H], `output_linear` [E, H, I])
      /// and a router `block_sparse_moe.router.layer`.
      case graniteStacked
      /// GLM-4.5: DeepSeek-V3's MoE (`n_routed_experts`, `n_shared_experts`,
      /// `first_k_dense_replace`, a float32 `e_score_correction_bias`) on standard attention.
      case deepSeekStyle
      /// Llama 4: `feed_forward.experts.gate_up_proj` [E, H, 2I] and `down_proj`
      /// [E, I, H] stacked, a router and a shared expert on the `moe_layers`; a
      /// dense `feed_forward` of `intermediate_size_mlp` on the others.
      case llama4
    }
    /// Which norms a layer has.
    enum Norms: Sendable {
      /// `input_layernorm` and `post_attention_layernorm` (Llama).
      case llama
      /// Also `pre_feedforward_layernorm` and `post_feedforward_layernorm` (Gemma 2 and 3).
      case sandwich
      /// `input_layernorm` only: attention and MLP read the same normed input (Command-R).
      case parallel
      /// `post_attention_layernorm` and `post_feedforward_layernorm`, none before (OLMo 2).
      case postOnly
    }
    /// Norms of queries and keys.
    enum QKNorm: Sendable {
      case none
      /// One weight per head dimension, shared by the heads (Qwen3, Gemma 3).
      case perHead
      /// One weight per projection output: `heads × head_dim` for queries (OLMo 2, Command-R+).
      case fullWidth
    }
    /// The MLP of a dense layer.
    enum MLP: Sendable {
      /// `gate_proj`, `up_proj`, `down_proj`.
      case gated
      /// Two projections with the given names (StarCoder2: `c_fc`, `c_proj`).
      case plain(up: String, down: String)
    }
    /// A config.json switch: its key, and the value transformers' config class
    /// gives it when the file leaves it out.
    struct Switch: Sendable {
      var key: String
      var fallback: Bool
      /// Another name config.json may give it (InternLM3's `qkv_bias` for `attention_bias`).
      var alias: String? = nil
    }
    /// Which attention projections carry a bias, as the family's modeling code
    /// builds them (`nn.Linear(..., bias=...)`).
    enum AttentionBias: Sendable {
      /// None, whatever config.json says: the modeling code passes `bias=False`
      /// (Mistral, Mixtral, MiniMax-M2, Phi-3).
      case never
      /// q, k and v when the switch is on (always when there is none), never o
      /// (Qwen2 always; Qwen2-MoE `qkv_bias`; GLM-4.5 `attention_bias`).
      case queryKeyValue(Switch?)
      /// q, k, v and o when the switch is on: Llama and the families written after
      /// it (`attention_bias`), StarCoder2 (`use_bias`).
      case all(Switch)

      /// Llama's rule: `attention_bias` on all four projections, off by default.
      static let llama = AttentionBias.all(Switch(key: "attention_bias", fallback: false))
    }
    /// Biases of attention's projections.
    var attentionBias = AttentionBias.llama
    /// Norms of queries and keys.
    var qkNorm = QKNorm.none
    /// The kind of query and key norm a config's `use_qk_norm: true` turns on.
    var qkNormWhenAsked = QKNorm.none
    /// The norms of a layer.
    var norms = Norms.llama
    /// Norms are LayerNorms with a bias (StarCoder2, Phi-3.5-MoE).
    var normBias = false
    /// Fused `qkv_proj` and `gate_up_proj` (Phi-3).
    var fusedProjections = false
    /// Queries and an output gate from one `q_proj` twice as wide (Qwen3-Next).
    var gatedAttention = false
    /// Gated DeltaNet linear attention, and how its input projections are stored.
    enum DeltaNet: Sendable {
      case none
      /// `in_proj_qkvz` and `in_proj_ba` (Qwen3-Next).
      case fused
      /// `in_proj_qkv`, `in_proj_z`, `in_proj_b` and `in_proj_a` (Qwen3.5).
      case split
    }
    /// Gated DeltaNet linear attention on the layers `layer_types` names
    /// `linear_attention` (Qwen3-Next, Qwen3.5), with a recurrent state instead of a KV cache.
    var gatedDeltaNet = DeltaNet.none
    /// Embeddings tied to the head when config.json does not say.
    var tiedByDefault = false
    /// The dense MLP.
    var mlp = MLP.gated
    /// The switch that puts biases on the dense MLP's projections (Llama, Granite
    /// and SmolLM3 `mlp_bias`; StarCoder2 `use_bias`); nil where the modeling code has none.
    var mlpBias: Switch? = nil
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
  /// Whether llama.cpp's architecture for the family keeps the sliding window
  /// (its loader reads `attention.sliding_window`): Gemma 2 and 3, gpt-oss, and
  /// Llama 4's chunks. Mistral converts to llama.cpp's `llama`, which has none
  /// (llama.cpp issue 3377); Phi-3's is disabled (llama.cpp PR 13676).
  var llamaCppSlidingWindow = false
  /// Whether SGLang keeps the window: only its hybrid sliding-window memory pool
  /// does, for the architectures `is_hybrid_swa_model` lists (Llama 4, gpt-oss,
  /// MiMo, Step-3.5, Gemma 4); every other model gets full-context pages per layer.
  var sglangSlidingWindow = false

  /// Whether `engine`'s KV cache holds only the window on the family's sliding
  /// layers: vLLM (its sliding-window KV spec) and transformers (its cache's
  /// sliding layers) always; llama.cpp and SGLang per architecture.
  func keepsSlidingWindow(in engine: Engine) -> Bool {
    switch engine {
    case .llamaCpp: llamaCppSlidingWindow
    case .sglang: sglangSlidingWindow
    default: true
    }
  }
  /// transformers' `base_model_prefix`, for checkpoints whose tensor names leave it out.
  var baseModelPrefix: String? = nil
  /// Whether the transformers model keeps a rotary-embedding module (computed
  /// `inv_freq` buffers, in no checkpoint) that a `device_map` must place.
  var rotaryModule = false
  /// The output head's module, which a tied checkpoint leaves out; nil when the model has none.
  var headModule: String? = "lm_head"

  /// Whether its config.json alone gives its tensors (not ``Reading/tensorsOnly``).
  var readsConfig: Bool {
    if case .tensorsOnly = reading { false } else { true }
  }

  /// Every family shardplan knows, one per file in `Models/Families/`.
  static let all: [ModelFamily] =
    [
      .llama, .mistral, .mixtral, .qwen2, .qwen2MoE, .qwen3, .qwen3MoE, .gemma, .gemma2, .gemma3, .phi3, .phi2,
      .deepSeekV2, .deepSeekV3, .kimiK2, .gptOSS, .gpt2, .bert, .roberta, .granite, .graniteMoE, .olmo2, .cohere,
      .starCoder2, .smolLM3, .phiMoE, .glm4MoE, .gptNeoX, .llama4, .internLM3, .qwen3Next, .qwen35, .qwen35MoE, .mamba,
      .mamba2,
      .jamba,
      .falcon, .miniMaxM2,
      .falconH1, .nemotronH,
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

extension ModelSpec {
  /// The model as `engine` allocates its cache: llama.cpp and SGLang give every
  /// layer of an architecture they run without sliding-window attention the full
  /// context, whatever the config says, so a known family is planned with full
  /// attention there, and the note says so.
  package func asRun(by engine: Engine) -> (ModelSpec, String?) {
    guard let family = ModelFamily.of(self), !family.keepsSlidingWindow(in: engine) else {
      return (self, nil)
    }
    let sliding = attention.layers.filter { if case .sliding = $0 { true } else { false } }.count
    guard sliding > 0 else { return (self, nil) }
    var model = self
    model.attention.layers = attention.layers.map { if case .sliding = $0 { .full } else { $0 } }
    return (
      model,
      engine == .sglang
        ? "SGLang keeps sliding windows only in its hybrid SWA pool, which \(family.name) does not get (is_hybrid_swa_model): the KV cache of its \(sliding) sliding layer(s) holds the full context"
        : "llama.cpp runs \(family.name) without sliding-window attention (\(family.name == "Phi-3" ? "disabled for Phi-3 by llama.cpp PR 13676" : "its architecture has none; llama.cpp issue 3377")): the KV cache of its \(sliding) sliding layer(s) holds the full context"
    )
  }
}
