extension ModelFamily {
  /// Mamba (selective state space, `backbone.layers.N.mixer.*`): no attention, no
  /// KV cache; each layer keeps a convolution state and an SSM state per sequence.
  static let mamba = ModelFamily(
    name: "Mamba",
    modelTypes: ["mamba"],
    ggufArchitectures: ["mamba"],
    reading: .custom { config, name in try config.buildMamba(name: name, version: 1) },
    baseModelPrefix: "backbone",
    headModule: "lm_head"
  )

  /// Mamba-2 (SSD with heads and groups): as Mamba, with a per-head state.
  static let mamba2 = ModelFamily(
    name: "Mamba-2",
    modelTypes: ["mamba2"],
    ggufArchitectures: ["mamba2"],
    reading: .custom { config, name in try config.buildMamba(name: name, version: 2) },
    baseModelPrefix: "backbone",
    headModule: "lm_head"
  )

  /// Jamba: Mamba layers with an attention layer every `attn_layer_period`
  /// (from `attn_layer_offset`), experts every `expert_layer_period` (from
  /// `expert_layer_offset`) and dense MLPs between.
  static let jamba = ModelFamily(
    name: "Jamba",
    modelTypes: ["jamba"],
    ggufArchitectures: ["jamba"],
    reading: .custom { config, name in try config.buildJamba(name: name) }
  )
}

/// The shape of a Mamba (v1) mixer as transformers builds it (`MambaMixer`,
/// `JambaMambaMixer`): `in_proj` [2·D, H], a depthwise `conv1d` [D, 1, kernel],
/// `x_proj` [R + 2·N, D], `dt_proj` [D, R] with a bias, `A_log` [D, N], `D` [D] and
/// `out_proj` [H, D], where D = expand·H, N = the state size, R = the time-step rank.
///
/// Per sequence it keeps D·(kernel − 1) convolution values and D·N SSM values.
struct MambaMixerShape {
  var inner: Int
  var state: Int
  var rank: Int
  var kernel: Int
  var convolutionBias: Bool
  var projectionBias: Bool

  var stateValues: Int64 { Int64(inner) * Int64(max(kernel - 1, 0)) + Int64(inner) * Int64(state) }

  func append(to builder: inout TensorListBuilder, prefix p: String, hidden: Int, layer: Int) {
    builder.linear(p + "in_proj", out: 2 * inner, input: hidden, layer: layer, role: .attention)
    if projectionBias { builder.plain(p + "in_proj.bias", [2 * inner], layer: layer, role: .attention) }
    builder.plain(p + "conv1d.weight", [inner, 1, kernel], layer: layer, role: .attention)
    if convolutionBias { builder.plain(p + "conv1d.bias", [inner], layer: layer, role: .attention) }
    builder.linear(p + "x_proj", out: rank + 2 * state, input: inner, layer: layer, role: .attention)
    builder.linear(p + "dt_proj", out: inner, input: rank, layer: layer, role: .attention)
    builder.plain(p + "dt_proj.bias", [inner], layer: layer, role: .attention)
    builder.plain(p + "A_log", [inner, state], layer: layer, role: .attention)
    builder.plain(p + "D", [inner], layer: layer, role: .attention)
    builder.linear(p + "out_proj", out: hidden, input: inner, layer: layer, role: .attention)
    if projectionBias { builder.plain(p + "out_proj.bias", [hidden], layer: layer, role: .attention) }
  }
}

/// The shape of a Mamba-2 mixer as transformers builds it (`Mamba2Mixer`, and the
/// mixers of Falcon-H1 and Nemotron-H): `in_proj` [2·D + 2·G·N + heads, H], a
/// depthwise `conv1d` over D + 2·G·N channels, `dt_bias`, `A_log` and `D` per head,
/// an optional gated RMS norm [D] and `out_proj` [H, D], where D = heads · head_dim,
/// G the groups and N the state size.
///
/// Per sequence it keeps (D + 2·G·N)·(kernel − 1) convolution values and
/// heads · head_dim · N SSM values.
struct Mamba2MixerShape {
  var inner: Int
  var heads: Int
  var headDim: Int?
  var groups: Int
  var state: Int
  var kernel: Int
  var convolutionBias: Bool
  var projectionBias: Bool
  var gatedNorm: Bool
  /// A bias on `out_proj` (Falcon-H1's `projectors_bias`); `projectionBias` when nil.
  var outputBias: Bool? = nil

  var channels: Int { inner + 2 * groups * state }
  var convolutionValues: Int64 { Int64(channels) * Int64(max(kernel - 1, 0)) }
  var ssmValues: Int64 { Int64(heads) * Int64(headDim ?? inner / max(heads, 1)) * Int64(state) }

  /// State bytes per sequence: the convolution state in `element` bytes, the SSM
  /// state in `ssmElement` (float32 where the config's `mamba_ssm_cache_dtype` says so).
  func stateBytes(element: Int, ssmElement: Int) -> Int64 {
    convolutionValues * Int64(element) + ssmValues * Int64(ssmElement)
  }

  func append(to builder: inout TensorListBuilder, prefix m: String, hidden: Int, layer: Int) {
    let projection = 2 * inner + 2 * groups * state + heads
    builder.linear(m + "in_proj", out: projection, input: hidden, layer: layer, role: .attention)
    if projectionBias { builder.plain(m + "in_proj.bias", [projection], layer: layer, role: .attention) }
    builder.plain(m + "conv1d.weight", [channels, 1, kernel], layer: layer, role: .attention)
    if convolutionBias { builder.plain(m + "conv1d.bias", [channels], layer: layer, role: .attention) }
    builder.plain(m + "dt_bias", [heads], layer: layer, role: .attention)
    builder.plain(m + "A_log", [heads], layer: layer, role: .attention)
    builder.plain(m + "D", [heads], layer: layer, role: .attention)
    if gatedNorm { builder.plain(m + "norm.weight", [inner], layer: layer, role: .norm) }
    builder.linear(m + "out_proj", out: hidden, input: inner, layer: layer, role: .attention)
    if outputBias ?? projectionBias {
      builder.plain(m + "out_proj.bias", [hidden], layer: layer, role: .attention)
    }
  }
}

extension Config {
  /// The element bytes of an SSM (recurrent) state: float32 where config.json says
  /// so, `mamba_ssm_cache_dtype` (Nemotron-H; vLLM reads the key) or `mamba_ssm_dtype`
  /// (Qwen3.5, whose engines keep the DeltaNet state in float32); else the weights' float type.
  func ssmStateElementBytes() -> Int {
    (json["mamba_ssm_cache_dtype"] ?? json["mamba_ssm_dtype"])?.stringValue == "float32" ? 4 : dtype.bytesPerElement
  }

  /// Mamba's time-step rank: an integer, or `"auto"` for ⌈hidden / 16⌉.
  func timeStepRank(_ key: String, hidden: Int) throws -> Int {
    if json[key]?.stringValue == "auto" { return (hidden + 15) / 16 }
    return try optionalInt(key) ?? (hidden + 15) / 16
  }

  /// Mamba and Mamba-2 (`MambaForCausalLM`, `Mamba2ForCausalLM`).
  func buildMamba(name: String, version: Int) throws -> ModelSpec {
    let family = modelType
    let hidden = try int("hidden_size", family: family)
    let layers = try int("num_hidden_layers", family: family)
    let vocab = try int("vocab_size", family: family)
    let state = try int("state_size", family: family)
    let kernel = try optionalInt("conv_kernel") ?? 4
    let inner = try optionalInt("intermediate_size") ?? (try optionalInt("expand") ?? 2) * hidden
    let convolutionBias = bool("use_conv_bias", default: true)
    let projectionBias = bool("use_bias", default: false)
    var (builder, quantization) = try tensorBuilder()
    builder.plain("backbone.embeddings.weight", [vocab, hidden], layer: nil, role: .embedding)
    let stateValues: Int64
    if version == 1 {
      let mixer = MambaMixerShape(
        inner: inner,
        state: state,
        rank: try timeStepRank("time_step_rank", hidden: hidden),
        kernel: kernel,
        convolutionBias: convolutionBias,
        projectionBias: projectionBias
      )
      stateValues = mixer.stateValues
      for layer in 0..<layers {
        let p = "backbone.layers.\(layer)."
        builder.plain(p + "norm.weight", [hidden], layer: layer, role: .norm)
        mixer.append(to: &builder, prefix: p + "mixer.", hidden: hidden, layer: layer)
      }
    } else {
      let mixer = Mamba2MixerShape(
        inner: inner,
        heads: try int("num_heads", family: family),
        headDim: try optionalInt("head_dim"),
        groups: try optionalInt("n_groups") ?? 1,
        state: state,
        kernel: kernel,
        convolutionBias: convolutionBias,
        projectionBias: projectionBias,
        gatedNorm: true
      )
      stateValues = mixer.convolutionValues + mixer.ssmValues
      for layer in 0..<layers {
        let p = "backbone.layers.\(layer)."
        builder.plain(p + "norm.weight", [hidden], layer: layer, role: .norm)
        mixer.append(to: &builder, prefix: p + "mixer.", hidden: hidden, layer: layer)
      }
    }
    builder.plain("backbone.norm_f.weight", [hidden], layer: nil, role: .norm)
    let tied = tiedOverride ?? bool("tie_word_embeddings", default: true)
    if !tied { builder.plain("lm_head.weight", [vocab, hidden], layer: nil, role: .head) }
    let bytes = stateValues * Int64(dtype.bytesPerElement)
    return try standardSpec(
      name: name,
      family: family,
      hidden: hidden,
      layers: layers,
      heads: 1,
      kvHeads: 1,
      headDim: 0,
      vocab: vocab,
      intermediate: inner,
      defaultContext: 1 << 20,
      attentionLayers: Array(repeating: .recurrent(stateBytes: bytes), count: layers),
      moe: nil,
      tied: tied,
      tensors: builder.tensors,
      quantization: quantization,
      notes: wrapperNotes
    )
  }

  /// Jamba (`JambaForCausalLM`): Mamba mixers with `dt`, `B` and `C` norms, an
  /// attention layer every `attn_layer_period`, stacked experts every `expert_layer_period`.
  func buildJamba(name: String) throws -> ModelSpec {
    let family = modelType
    let hidden = try int("hidden_size", family: family)
    let layers = try int("num_hidden_layers", family: family)
    let heads = try int("num_attention_heads", family: family)
    let kvHeads = try optionalInt("num_key_value_heads") ?? heads
    let vocab = try int("vocab_size", family: family)
    let intermediate = try int("intermediate_size", family: family)
    let headDim = try attentionShape(hidden: hidden, heads: heads, kvHeads: kvHeads, vocab: vocab)
    let experts = try optionalInt("num_experts") ?? 1
    let perToken = try optionalInt("num_experts_per_tok") ?? 1
    let attentionPeriod = max(try optionalInt("attn_layer_period") ?? 8, 1)
    let attentionOffset = try optionalInt("attn_layer_offset") ?? 4
    let expertPeriod = max(try optionalInt("expert_layer_period") ?? 2, 1)
    let expertOffset = try optionalInt("expert_layer_offset") ?? 1
    let mixer = MambaMixerShape(
      inner: (try optionalInt("mamba_expand") ?? 2) * hidden,
      state: try optionalInt("mamba_d_state") ?? 16,
      rank: try timeStepRank("mamba_dt_rank", hidden: hidden),
      kernel: try optionalInt("mamba_d_conv") ?? 4,
      convolutionBias: bool("mamba_conv_bias", default: true),
      projectionBias: bool("mamba_proj_bias", default: false)
    )
    var (builder, quantization) = try tensorBuilder()
    builder.plain("model.embed_tokens.weight", [vocab, hidden], layer: nil, role: .embedding)
    var attentionLayers: [LayerAttention] = []
    var moeLayers: [Int] = []
    for layer in 0..<layers {
      let p = "model.layers.\(layer)."
      if layer % attentionPeriod == attentionOffset {
        attentionLayers.append(.full)
        builder.linear(p + "self_attn.q_proj", out: heads * headDim, input: hidden, layer: layer, role: .attention)
        builder.linear(p + "self_attn.k_proj", out: kvHeads * headDim, input: hidden, layer: layer, role: .attention)
        builder.linear(p + "self_attn.v_proj", out: kvHeads * headDim, input: hidden, layer: layer, role: .attention)
        builder.linear(p + "self_attn.o_proj", out: hidden, input: heads * headDim, layer: layer, role: .attention)
      } else {
        attentionLayers.append(.recurrent(stateBytes: mixer.stateValues * Int64(dtype.bytesPerElement)))
        mixer.append(to: &builder, prefix: p + "mamba.", hidden: hidden, layer: layer)
        builder.plain(p + "mamba.dt_layernorm.weight", [mixer.rank], layer: layer, role: .norm)
        builder.plain(p + "mamba.b_layernorm.weight", [mixer.state], layer: layer, role: .norm)
        builder.plain(p + "mamba.c_layernorm.weight", [mixer.state], layer: layer, role: .norm)
      }
      builder.plain(p + "input_layernorm.weight", [hidden], layer: layer, role: .norm)
      builder.plain(p + "pre_ff_layernorm.weight", [hidden], layer: layer, role: .norm)
      if experts > 1, layer % expertPeriod == expertOffset {
        moeLayers.append(layer)
        builder.plain(p + "feed_forward.router.weight", [experts, hidden], layer: layer, role: .router)
        for e in 0..<experts {
          builder.gatedMLP(
            p + "feed_forward.experts.\(e).",
            hidden: hidden,
            intermediate: intermediate,
            layer: layer,
            role: .expert,
            expert: e
          )
        }
      } else {
        builder.gatedMLP(p + "feed_forward.", hidden: hidden, intermediate: intermediate, layer: layer, role: .mlp)
      }
    }
    builder.plain("model.final_layernorm.weight", [hidden], layer: nil, role: .norm)
    let tied = tiedOverride ?? bool("tie_word_embeddings", default: false)
    if !tied { builder.plain("lm_head.weight", [vocab, hidden], layer: nil, role: .head) }
    return try standardSpec(
      name: name,
      family: family,
      hidden: hidden,
      layers: layers,
      heads: heads,
      kvHeads: kvHeads,
      headDim: headDim,
      vocab: vocab,
      intermediate: intermediate,
      defaultContext: 262_144,
      attentionLayers: attentionLayers,
      moe: experts > 1
        ? MoESpec(routedExperts: experts, expertsPerToken: perToken, sharedExperts: 0, moeLayers: moeLayers) : nil,
      tied: tied,
      tensors: builder.tensors,
      quantization: quantization,
      notes: wrapperNotes
    )
  }
}
