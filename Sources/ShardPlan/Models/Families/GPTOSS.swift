import Foundation

extension ModelFamily {
  /// gpt-oss: MXFP4 experts, attention sinks, sliding-window and full layers alternating.
  static let gptOSS = ModelFamily(
    name: "gpt-oss",
    modelTypes: ["gpt_oss"],
    ggufArchitectures: ["gpt-oss"],
    reading: .custom { config, name in try config.buildGPTOSS(name: name) },
    slidingWindow: .evenLayers,
    llamaCppSlidingWindow: true,
    sglangSlidingWindow: true,
    rotaryModule: true
  )
}

extension Config {
  func buildGPTOSS(name: String) throws -> ModelSpec {
    let family = modelType
    let hidden = try int("hidden_size", family: family)
    let layers = try int("num_hidden_layers", family: family)
    let heads = try int("num_attention_heads", family: family)
    let kvHeads = try int("num_key_value_heads", family: family)
    let headDim = try optionalInt("head_dim") ?? hidden / max(heads, 1)
    let vocab = try int("vocab_size", family: family)
    let intermediate = try int("intermediate_size", family: family)
    let experts = try int("num_local_experts", family: family)
    let perToken = try optionalInt("num_experts_per_tok") ?? (try int("experts_per_token", family: family))
    let (_, _, quantization) = try linearStorage()
    let mxfp4 = quantization == "mxfp4"
    let weights: TensorDType = json["torch_dtype"] == nil && mxfp4 ? .bf16 : dtype
    var builder = TensorListBuilder(dtype: weights, linear: .unquantized(weights), skip: [])
    builder.plain("model.embed_tokens.weight", [vocab, hidden], layer: nil, role: .embedding)
    for layer in 0..<layers {
      let p = "model.layers.\(layer)."
      for (projection, out, input) in [
        ("q_proj", heads * headDim, hidden), ("k_proj", kvHeads * headDim, hidden),
        ("v_proj", kvHeads * headDim, hidden),
        ("o_proj", hidden, heads * headDim),
      ] {
        builder.linear(p + "self_attn.\(projection)", out: out, input: input, layer: layer, role: .attention)
        builder.plain(p + "self_attn.\(projection).bias", [out], layer: layer, role: .attention)
      }
      builder.plain(p + "self_attn.sinks", [heads], layer: layer, role: .attention)
      builder.plain(p + "mlp.router.weight", [experts, hidden], layer: layer, role: .router)
      builder.plain(p + "mlp.router.bias", [experts], layer: layer, role: .router)
      if mxfp4 {
        // MXFP4: 32 values share one E8M0 scale byte; two FP4 values per byte.
        builder.packedFP4(
          p + "mlp.experts.gate_up_proj",
          experts: experts,
          rows: 2 * intermediate,
          columns: hidden,
          layer: layer
        )
        builder.plain(p + "mlp.experts.gate_up_proj_bias", [experts, 2 * intermediate], layer: layer, role: .expert)
        builder.packedFP4(
          p + "mlp.experts.down_proj",
          experts: experts,
          rows: hidden,
          columns: intermediate,
          layer: layer
        )
        builder.plain(p + "mlp.experts.down_proj_bias", [experts, hidden], layer: layer, role: .expert)
      } else {
        builder.plain(p + "mlp.experts.gate_up_proj", [experts, hidden, 2 * intermediate], layer: layer, role: .expert)
        builder.plain(p + "mlp.experts.gate_up_proj_bias", [experts, 2 * intermediate], layer: layer, role: .expert)
        builder.plain(p + "mlp.experts.down_proj", [experts, intermediate, hidden], layer: layer, role: .expert)
        builder.plain(p + "mlp.experts.down_proj_bias", [experts, hidden], layer: layer, role: .expert)
      }
      builder.plain(p + "input_layernorm.weight", [hidden], layer: layer, role: .norm)
      builder.plain(p + "post_attention_layernorm.weight", [hidden], layer: layer, role: .norm)
    }
    builder.plain("model.norm.weight", [hidden], layer: nil, role: .norm)
    builder.plain("lm_head.weight", [vocab, hidden], layer: nil, role: .head)
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
      defaultContext: 4096,
      attentionLayers: try layerAttention(layers: layers, rule: ModelFamily.gptOSS.slidingWindow),
      moe: MoESpec(routedExperts: experts, expertsPerToken: perToken, sharedExperts: 0, moeLayers: Array(0..<layers)),
      tied: false,
      tensors: builder.tensors,
      quantization: quantization,
      notes: ["attention sinks: one learned logit per head per layer (self_attn.sinks)"]
    )
  }
}
