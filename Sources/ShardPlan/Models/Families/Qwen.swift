extension ModelFamily {
  /// Qwen2 and Qwen2.5: biases on q, k and v.
  static let qwen2 = ModelFamily(
    name: "Qwen2",
    modelTypes: ["qwen2", "qwen2_vl", "qwen2_vl_text", "qwen2_5_vl", "qwen2_5_vl_text"],
    ggufArchitectures: ["qwen2"],
    reading: .decoder(DecoderTraits(attentionBias: .queryKeyValue(nil))),
    rotaryModule: true
  )

  /// Qwen2-MoE: routed experts on the sparse layers and a gated shared expert.
  static let qwen2MoE = ModelFamily(
    name: "Qwen2-MoE",
    modelTypes: ["qwen2_moe"],
    ggufArchitectures: ["qwen2moe"],
    reading: .decoder(
      DecoderTraits(
        attentionBias: .queryKeyValue(.init(key: "qkv_bias", fallback: true)),
        experts: .qwen(sharedExpert: true)
      )
    ),
    rotaryModule: true
  )

  /// Qwen3: per-head RMS norms of queries and keys, no biases.
  static let qwen3 = ModelFamily(
    name: "Qwen3",
    modelTypes: ["qwen3"],
    ggufArchitectures: ["qwen3"],
    reading: .decoder(DecoderTraits(qkNorm: .perHead)),
    rotaryModule: true
  )

  /// Qwen3-MoE: Qwen3 with routed experts (`mlp_only_layers`, `decoder_sparse_step`).
  static let qwen3MoE = ModelFamily(
    name: "Qwen3-MoE",
    modelTypes: ["qwen3_moe"],
    ggufArchitectures: ["qwen3moe"],
    reading: .decoder(DecoderTraits(qkNorm: .perHead, experts: .qwen(sharedExpert: false))),
    rotaryModule: true
  )
}

extension ModelFamily {
  /// Qwen3-Next: Gated DeltaNet linear attention on three layers of four (a fixed
  /// recurrent state per sequence, no KV cache), gated full attention on the
  /// fourth, and 512 routed experts with a gated shared expert in every layer.
  static let qwen3Next = ModelFamily(
    name: "Qwen3-Next",
    modelTypes: ["qwen3_next"],
    ggufArchitectures: ["qwen3next"],
    reading: .decoder(
      DecoderTraits(
        qkNorm: .perHead,
        gatedAttention: true,
        gatedDeltaNet: .fused,
        experts: .qwen(sharedExpert: true)
      )
    ),
    rotaryModule: true
  )

  /// Qwen3.5 (dense): Qwen3-Next's hybrid of Gated DeltaNet on three layers of four
  /// and gated full attention on the fourth, with the DeltaNet input projections
  /// stored apart, and a dense MLP. `qwen3_5` is the multimodal wrapper: the
  /// language model in text_config, its vision tower counted beside it.
  static let qwen35 = ModelFamily(
    name: "Qwen3.5",
    modelTypes: ["qwen3_5_text", "qwen3_5"],
    ggufArchitectures: ["qwen35"],
    reading: .decoder(DecoderTraits(qkNorm: .perHead, gatedAttention: true, gatedDeltaNet: .split)),
    rotaryModule: true
  )

  /// Qwen3.5 MoE: the same layers with Qwen3-Next's routed experts and gated shared expert.
  static let qwen35MoE = ModelFamily(
    name: "Qwen3.5-MoE",
    modelTypes: ["qwen3_5_moe_text", "qwen3_5_moe"],
    ggufArchitectures: ["qwen35moe"],
    reading: .decoder(
      DecoderTraits(
        qkNorm: .perHead,
        gatedAttention: true,
        gatedDeltaNet: .split,
        experts: .qwen(sharedExpert: true)
      )
    ),
    rotaryModule: true
  )
}

/// The shape of a Gated DeltaNet layer (transformers' `Qwen3NextGatedDeltaNet`):
/// `in_proj_qkvz` [2·K + 2·V, H], `in_proj_ba` [2·n_v, H] (Qwen3.5 stores them as
/// `in_proj_qkv` [2·K + V, H], `in_proj_z` [V, H], `in_proj_b` and `in_proj_a` [n_v, H]),
/// a depthwise `conv1d`
/// [2·K + V, 1, kernel] over queries, keys and values, `dt_bias` and `A_log` [n_v],
/// a gated RMS norm [d_v] and `out_proj` [H, V], where K = n_k·d_k and V = n_v·d_v.
///
/// Per sequence it keeps a convolution state of (2·K + V)·(kernel − 1) values and
/// a recurrent state of n_v·d_k·d_v values (one d_k × d_v matrix per value head),
/// the same at any context length.
struct GatedDeltaNetShape {
  var keyHeads: Int
  var valueHeads: Int
  var keyHeadDim: Int
  var valueHeadDim: Int
  var kernel: Int
  /// The input projections stored apart (Qwen3.5), not fused (Qwen3-Next).
  var split = false

  var keyDim: Int { keyHeads * keyHeadDim }
  var valueDim: Int { valueHeads * valueHeadDim }
  var convolutionChannels: Int { 2 * keyDim + valueDim }

  /// Convolution-state values of one sequence.
  var convolutionValues: Int64 { Int64(convolutionChannels) * Int64(max(kernel - 1, 0)) }
  /// Recurrent-state values of one sequence: a d_k × d_v matrix per value head.
  var recurrentValues: Int64 { Int64(valueHeads) * Int64(keyHeadDim) * Int64(valueHeadDim) }

  /// Bytes of one sequence's state: the convolution state in `element` bytes, the
  /// recurrent state in `ssmElement` (4 where config.json asks for a float32
  /// recurrent state, `mamba_ssm_dtype`, as Qwen3.5's does).
  func stateBytes(element: Int, ssmElement: Int) -> Int64 {
    convolutionValues * Int64(element) + recurrentValues * Int64(ssmElement)
  }

  func append(to builder: inout TensorListBuilder, prefix p: String, hidden: Int, layer: Int) {
    if split {
      builder.linear(p + "in_proj_qkv", out: 2 * keyDim + valueDim, input: hidden, layer: layer, role: .attention)
      builder.linear(p + "in_proj_z", out: valueDim, input: hidden, layer: layer, role: .attention)
      builder.linear(p + "in_proj_b", out: valueHeads, input: hidden, layer: layer, role: .attention)
      builder.linear(p + "in_proj_a", out: valueHeads, input: hidden, layer: layer, role: .attention)
    } else {
      builder.linear(p + "in_proj_qkvz", out: 2 * keyDim + 2 * valueDim, input: hidden, layer: layer, role: .attention)
      builder.linear(p + "in_proj_ba", out: 2 * valueHeads, input: hidden, layer: layer, role: .attention)
    }
    builder.plain(p + "conv1d.weight", [convolutionChannels, 1, kernel], layer: layer, role: .attention)
    builder.plain(p + "dt_bias", [valueHeads], layer: layer, role: .attention)
    builder.plain(p + "A_log", [valueHeads], layer: layer, role: .attention)
    builder.plain(p + "norm.weight", [valueHeadDim], layer: layer, role: .norm)
    builder.linear(p + "out_proj", out: hidden, input: valueDim, layer: layer, role: .attention)
  }
}

extension Config {
  /// The Gated DeltaNet shape of a Qwen3-Next or Qwen3.5 config.
  func gatedDeltaNetShape(split: Bool) throws -> GatedDeltaNetShape {
    let family = modelType
    return GatedDeltaNetShape(
      keyHeads: try int("linear_num_key_heads", family: family),
      valueHeads: try int("linear_num_value_heads", family: family),
      keyHeadDim: try int("linear_key_head_dim", family: family),
      valueHeadDim: try int("linear_value_head_dim", family: family),
      kernel: try optionalInt("linear_conv_kernel_dim") ?? 4,
      split: split
    )
  }

  /// The linear-attention layers: those `layer_types` names `linear_attention`,
  /// else all but every `full_attention_interval`-th (transformers' default: 4).
  func linearAttentionLayers(layers: Int) throws -> [Int] {
    if let types = json["layer_types"]?.arrayValue?.compactMap(\.stringValue), types.count == layers {
      return types.indices.filter { types[$0] == "linear_attention" }
    }
    let interval = max(try optionalInt("full_attention_interval") ?? 4, 1)
    return (0..<layers).filter { ($0 + 1) % interval != 0 }
  }
}
