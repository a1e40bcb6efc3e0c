extension ModelFamily {
  /// Falcon-H1: every layer runs attention and a Mamba-2 mixer side by side, then
  /// a gated MLP, so every layer has both a KV cache and a recurrent state.
  static let falconH1 = ModelFamily(
    name: "Falcon-H1",
    modelTypes: ["falcon_h1"],
    ggufArchitectures: ["falcon-h1"],
    reading: .custom { config, name in try config.buildFalconH1(name: name) },
    rotaryModule: true
  )

  /// Nemotron-H (and Nemotron-3 Nano): one mixer per layer after one norm — Mamba-2,
  /// attention, a two-projection ReLU² MLP or a MoE — as `hybrid_override_pattern`
  /// (`M`, `*`, `-`, `E`) or `layers_block_type` lists them; the SSM state in
  /// float32 where `mamba_ssm_cache_dtype` says so.
  static let nemotronH = ModelFamily(
    name: "Nemotron-H",
    modelTypes: ["nemotron_h"],
    ggufArchitectures: ["nemotron_h", "nemotron_h_moe"],
    reading: .custom { config, name in try config.buildNemotronH(name: name) },
    baseModelPrefix: "backbone"
  )
}

extension Config {
  /// Falcon-H1 (`FalconH1ForCausalLM`).
  func buildFalconH1(name: String) throws -> ModelSpec {
    let family = modelType
    let hidden = try int("hidden_size", family: family)
    let layers = try int("num_hidden_layers", family: family)
    let heads = try int("num_attention_heads", family: family)
    let kvHeads = try optionalInt("num_key_value_heads") ?? heads
    let vocab = try int("vocab_size", family: family)
    let intermediate = try int("intermediate_size", family: family)
    let headDim = try attentionShape(hidden: hidden, heads: heads, kvHeads: kvHeads, vocab: vocab)
    let mixer = Mamba2MixerShape(
      inner: try optionalInt("mamba_d_ssm") ?? (try optionalInt("mamba_expand") ?? 2) * hidden,
      heads: try int("mamba_n_heads", family: family),
      headDim: try optionalInt("mamba_d_head"),
      groups: try optionalInt("mamba_n_groups") ?? 1,
      state: try int("mamba_d_state", family: family),
      kernel: try optionalInt("mamba_d_conv") ?? 4,
      convolutionBias: bool("mamba_conv_bias", default: true),
      projectionBias: bool("mamba_proj_bias", default: false),
      gatedNorm: bool("mamba_rms_norm", default: false),
      outputBias: bool("projectors_bias", default: false)
    )
    let attentionBias = bool("attention_bias", default: false)
    let mlpBias = bool("mlp_bias", default: false)
    var (builder, quantization) = try tensorBuilder()
    builder.plain("model.embed_tokens.weight", [vocab, hidden], layer: nil, role: .embedding)
    for layer in 0..<layers {
      let p = "model.layers.\(layer)."
      for (name, out, input) in [
        ("gate_proj", intermediate, hidden), ("up_proj", intermediate, hidden), ("down_proj", hidden, intermediate),
      ] {
        builder.linear(p + "feed_forward." + name, out: out, input: input, layer: layer, role: .mlp)
        if mlpBias { builder.plain(p + "feed_forward.\(name).bias", [out], layer: layer, role: .mlp) }
      }
      mixer.append(to: &builder, prefix: p + "mamba.", hidden: hidden, layer: layer)
      appendAttention(
        to: &builder,
        prefix: p + "self_attn.",
        hidden: hidden,
        heads: heads,
        kvHeads: kvHeads,
        headDim: headDim,
        bias: attentionBias,
        layer: layer
      )
      builder.plain(p + "input_layernorm.weight", [hidden], layer: layer, role: .norm)
      builder.plain(p + "pre_ff_layernorm.weight", [hidden], layer: layer, role: .norm)
    }
    builder.plain("model.final_layernorm.weight", [hidden], layer: nil, role: .norm)
    let tied = tiedOverride ?? bool("tie_word_embeddings", default: false)
    if !tied { builder.plain("lm_head.weight", [vocab, hidden], layer: nil, role: .head) }
    let state = mixer.stateBytes(element: dtype.bytesPerElement, ssmElement: ssmStateElementBytes())
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
      defaultContext: 8192,
      attentionLayers: Array(repeating: .fullAndRecurrent(stateBytes: state), count: layers),
      moe: nil,
      tied: tied,
      tensors: builder.tensors,
      quantization: quantization,
      notes: wrapperNotes
    )
  }

  /// q, k, v and o projections of a standard attention block.
  func appendAttention(
    to builder: inout TensorListBuilder,
    prefix p: String,
    hidden: Int,
    heads: Int,
    kvHeads: Int,
    headDim: Int,
    bias: Bool,
    layer: Int
  ) {
    for (name, out, input) in [
      ("q_proj", heads * headDim, hidden), ("k_proj", kvHeads * headDim, hidden),
      ("v_proj", kvHeads * headDim, hidden), ("o_proj", hidden, heads * headDim),
    ] {
      builder.linear(p + name, out: out, input: input, layer: layer, role: .attention)
      if bias { builder.plain(p + name + ".bias", [out], layer: layer, role: .attention) }
    }
  }

  /// Nemotron-H's layer kinds: `hybrid_override_pattern` (`M` Mamba-2, `*`
  /// attention, `-` MLP, `E` MoE) or `layers_block_type`.
  func nemotronBlocks() throws -> [Character] {
    if let pattern = json["hybrid_override_pattern"]?.stringValue {
      return Array(pattern)
    }
    let names: [String: Character] = [
      "mamba": "M", "linear_attention": "M", "attention": "*", "full_attention": "*", "mlp": "-", "moe": "E",
    ]
    let types = json["layers_block_type"]?.arrayValue?.compactMap(\.stringValue) ?? []
    return try types.map { type in
      guard let kind = names[type] else {
        throw InputError(
          .malformed,
          source: source,
          field: "layers_block_type",
          message: "unknown layer kind '\(type)'",
          expected: "mamba, attention, mlp or moe"
        )
      }
      return kind
    }
  }

  /// Nemotron-H (`NemotronHForCausalLM`), as its checkpoints name it (`backbone.*`).
  func buildNemotronH(name: String) throws -> ModelSpec {
    let family = modelType
    let hidden = try int("hidden_size", family: family)
    let blocks = try nemotronBlocks()
    let layers = try optionalInt("num_hidden_layers") ?? blocks.count
    guard blocks.count == layers, blocks.allSatisfy({ "M*-E".contains($0) }) else {
      throw InputError(
        .malformed,
        source: source,
        field: "hybrid_override_pattern",
        message:
          "the layer pattern lists \(blocks.count) layers of kinds M, *, - and E but num_hidden_layers is \(layers)",
        expected: "one of M, *, - or E per decoder layer",
        fix: "Use the model's original config.json"
      )
    }
    let heads = try int("num_attention_heads", family: family)
    let kvHeads = try optionalInt("num_key_value_heads") ?? heads
    let vocab = try int("vocab_size", family: family)
    let headDim = try attentionShape(hidden: hidden, heads: heads, kvHeads: kvHeads, vocab: vocab)
    let intermediate = try int("intermediate_size", family: family)
    let mambaHeads = try int("mamba_num_heads", family: family)
    let mambaHeadDim = try int("mamba_head_dim", family: family)
    let mixer = Mamba2MixerShape(
      inner: mambaHeads * mambaHeadDim,
      heads: mambaHeads,
      headDim: mambaHeadDim,
      groups: try optionalInt("n_groups") ?? 1,
      state: try int("ssm_state_size", family: family),
      kernel: try optionalInt("conv_kernel") ?? 4,
      convolutionBias: bool("use_conv_bias", default: true),
      projectionBias: bool("use_bias", default: false),
      gatedNorm: true
    )
    // transformers' NemotronHAttention has no biases whatever `attention_bias` says;
    // `mlp_bias` reaches the dense MLPs and the shared experts, not the routed ones.
    let mlpBias = bool("mlp_bias", default: false)
    let experts = blocks.contains("E") ? try int("n_routed_experts", family: family) : 0
    let expertIntermediate = experts > 0 ? try int("moe_intermediate_size", family: family) : 0
    let sharedIntermediate = try optionalInt("moe_shared_expert_intermediate_size") ?? 0
    let sharedExperts = try optionalInt("n_shared_experts") ?? (sharedIntermediate > 0 ? 1 : 0)
    var (builder, quantization) = try tensorBuilder()
    builder.plain("backbone.embeddings.weight", [vocab, hidden], layer: nil, role: .embedding)
    let state = mixer.stateBytes(element: dtype.bytesPerElement, ssmElement: ssmStateElementBytes())
    var attentionLayers: [LayerAttention] = []
    var moeLayers: [Int] = []
    for (layer, kind) in blocks.enumerated() {
      let p = "backbone.layers.\(layer)."
      builder.plain(p + "norm.weight", [hidden], layer: layer, role: .norm)
      let m = p + "mixer."
      switch kind {
      case "M":
        attentionLayers.append(.recurrent(stateBytes: state))
        mixer.append(to: &builder, prefix: m, hidden: hidden, layer: layer)
      case "*":
        attentionLayers.append(.full)
        appendAttention(
          to: &builder,
          prefix: m,
          hidden: hidden,
          heads: heads,
          kvHeads: kvHeads,
          headDim: headDim,
          bias: false,
          layer: layer
        )
      case "-":
        attentionLayers.append(.none)
        builder.linear(m + "up_proj", out: intermediate, input: hidden, layer: layer, role: .mlp)
        builder.linear(m + "down_proj", out: hidden, input: intermediate, layer: layer, role: .mlp)
        if mlpBias {
          builder.plain(m + "up_proj.bias", [intermediate], layer: layer, role: .mlp)
          builder.plain(m + "down_proj.bias", [hidden], layer: layer, role: .mlp)
        }
      default:
        attentionLayers.append(.none)
        moeLayers.append(layer)
        builder.plain(m + "gate.weight", [experts, hidden], layer: layer, role: .router)
        builder.plain(m + "gate.e_score_correction_bias", [experts], layer: layer, role: .buffer, dtype: .f32)
        for e in 0..<experts {
          let q = m + "experts.\(e)."
          builder.linear(q + "up_proj", out: expertIntermediate, input: hidden, layer: layer, role: .expert, expert: e)
          builder.linear(
            q + "down_proj",
            out: hidden,
            input: expertIntermediate,
            layer: layer,
            role: .expert,
            expert: e
          )
        }
        if sharedIntermediate > 0 {
          builder.linear(
            m + "shared_experts.up_proj",
            out: sharedIntermediate,
            input: hidden,
            layer: layer,
            role: .sharedExpert
          )
          builder.linear(
            m + "shared_experts.down_proj",
            out: hidden,
            input: sharedIntermediate,
            layer: layer,
            role: .sharedExpert
          )
          if mlpBias {
            builder.plain(m + "shared_experts.up_proj.bias", [sharedIntermediate], layer: layer, role: .sharedExpert)
            builder.plain(m + "shared_experts.down_proj.bias", [hidden], layer: layer, role: .sharedExpert)
          }
        }
      }
    }
    builder.plain("backbone.norm_f.weight", [hidden], layer: nil, role: .norm)
    let tied = tiedOverride ?? bool("tie_word_embeddings", default: false)
    if !tied { builder.plain("lm_head.weight", [vocab, hidden], layer: nil, role: .head) }
    let moe =
      experts > 0
      ? MoESpec(
        routedExperts: experts,
        expertsPerToken: try int("num_experts_per_tok", family: family),
        sharedExperts: sharedExperts,
        moeLayers: moeLayers
      ) : nil
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
      defaultContext: 8192,
      attentionLayers: attentionLayers,
      moe: moe,
      tied: tied,
      tensors: builder.tensors,
      quantization: quantization,
      notes: wrapperNotes
    )
  }
}
