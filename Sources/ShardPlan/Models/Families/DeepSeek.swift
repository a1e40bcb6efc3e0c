import Foundation

extension ModelFamily {
  /// DeepSeek-V2 (and V2-Lite): MLA attention, shared and routed experts, first dense layers.
  static let deepSeekV2 = ModelFamily(
    name: "DeepSeek-V2",
    modelTypes: ["deepseek_v2"],
    reading: .custom { config, name in try config.buildDeepSeek(name: name) }
  )

  /// DeepSeek-V3 (and R1): V2's shape with FP8 block weights and multi-token-prediction layers.
  static let deepSeekV3 = ModelFamily(
    name: "DeepSeek-V3",
    modelTypes: ["deepseek_v3"],
    ggufArchitectures: ["deepseek2"],
    reading: .custom { config, name in try config.buildDeepSeek(name: name) },
    rotaryModule: true
  )

  /// Kimi-K2: DeepSeek-V3's architecture (`DeepseekV3ForCausalLM`) at 1T
  /// parameters with 384 routed experts, under its own `model_type`.
  static let kimiK2 = ModelFamily(
    name: "Kimi-K2",
    modelTypes: ["kimi_k2"],
    reading: .custom { config, name in try config.buildDeepSeek(name: name) },
    rotaryModule: true
  )
}

extension Config {
  func buildDeepSeek(name: String) throws -> ModelSpec {
    let family = modelType
    let hidden = try int("hidden_size", family: family)
    let layers = try int("num_hidden_layers", family: family)
    let heads = try int("num_attention_heads", family: family)
    let vocab = try int("vocab_size", family: family)
    let qLora = try optionalInt("q_lora_rank")
    let kvLora = try int("kv_lora_rank", family: family)
    let nope = try int("qk_nope_head_dim", family: family)
    let rope = try int("qk_rope_head_dim", family: family)
    let valueDim = try int("v_head_dim", family: family)
    let intermediate = try int("intermediate_size", family: family)
    let expertIntermediate = try int("moe_intermediate_size", family: family)
    let experts = try int("n_routed_experts", family: family)
    let shared = try optionalInt("n_shared_experts") ?? 0
    let perToken = try int("num_experts_per_tok", family: family)
    let firstDense = try optionalInt("first_k_dense_replace") ?? 0
    let frequency = max(try optionalInt("moe_layer_freq") ?? 1, 1)
    let mtp = try optionalInt("num_nextn_predict_layers") ?? 0
    var (builder, quantization) = try tensorBuilder()
    // V3's router (noaux_tc) has a float32 score-correction bias; transformers'
    // DeepSeek-V3 model has it whatever topk_method says, V2's never.
    let topK = json["topk_method"]?.stringValue
    let correctionBias = topK == "noaux_tc" || (topK == nil && family != "deepseek_v2")
    // transformers' MLA: `attention_bias` on q_a_proj, kv_a_proj_with_mqa and o_proj;
    // V2's `mlp_bias` on its dense MLPs and shared experts (V3's have none).
    let attentionBias = bool("attention_bias", default: false)
    let mlpBias = family == "deepseek_v2" && bool("mlp_bias", default: false)
    builder.plain("model.embed_tokens.weight", [vocab, hidden], layer: nil, role: .embedding)
    var moeLayers: [Int] = []
    func decoderLayer(_ layer: Int, role override: TensorRole?) {
      let p = "model.layers.\(layer)."
      let attention = override ?? .attention
      func bias(_ projection: String, _ width: Int) {
        builder.plain(p + projection + ".bias", [width], layer: layer, role: attention)
      }
      func mlpBiases(_ prefix: String, intermediate: Int, role: TensorRole) {
        guard mlpBias else { return }
        for (projection, width) in [("gate_proj", intermediate), ("up_proj", intermediate), ("down_proj", hidden)] {
          builder.plain(prefix + projection + ".bias", [width], layer: layer, role: role)
        }
      }
      if let qLora {
        builder.linear(p + "self_attn.q_a_proj", out: qLora, input: hidden, layer: layer, role: attention)
        builder.plain(p + "self_attn.q_a_layernorm.weight", [qLora], layer: layer, role: override ?? .norm)
        builder.linear(
          p + "self_attn.q_b_proj",
          out: heads * (nope + rope),
          input: qLora,
          layer: layer,
          role: attention
        )
      } else {
        builder.linear(p + "self_attn.q_proj", out: heads * (nope + rope), input: hidden, layer: layer, role: attention)
      }
      builder.linear(
        p + "self_attn.kv_a_proj_with_mqa",
        out: kvLora + rope,
        input: hidden,
        layer: layer,
        role: attention
      )
      builder.plain(p + "self_attn.kv_a_layernorm.weight", [kvLora], layer: layer, role: override ?? .norm)
      builder.linear(
        p + "self_attn.kv_b_proj",
        out: heads * (nope + valueDim),
        input: kvLora,
        layer: layer,
        role: attention
      )
      builder.linear(p + "self_attn.o_proj", out: hidden, input: heads * valueDim, layer: layer, role: attention)
      if attentionBias {
        if let qLora { bias("self_attn.q_a_proj", qLora) }
        bias("self_attn.kv_a_proj_with_mqa", kvLora + rope)
        bias("self_attn.o_proj", hidden)
      }
      builder.plain(p + "input_layernorm.weight", [hidden], layer: layer, role: override ?? .norm)
      builder.plain(p + "post_attention_layernorm.weight", [hidden], layer: layer, role: override ?? .norm)
      let isMoE = layer >= firstDense && layer % frequency == 0
      if isMoE {
        if override == nil { moeLayers.append(layer) }
        builder.plain(p + "mlp.gate.weight", [experts, hidden], layer: layer, role: override ?? .router)
        if correctionBias {
          builder.plain(
            p + "mlp.gate.e_score_correction_bias",
            [experts],
            layer: layer,
            role: override ?? .buffer,
            dtype: .f32
          )
        }
        for e in 0..<experts {
          builder.gatedMLP(
            p + "mlp.experts.\(e).",
            hidden: hidden,
            intermediate: expertIntermediate,
            layer: layer,
            role: override ?? .expert,
            expert: e
          )
        }
        if shared > 0 {
          builder.gatedMLP(
            p + "mlp.shared_experts.",
            hidden: hidden,
            intermediate: expertIntermediate * shared,
            layer: layer,
            role: override ?? .sharedExpert
          )
          mlpBiases(
            p + "mlp.shared_experts.",
            intermediate: expertIntermediate * shared,
            role: override ?? .sharedExpert
          )
        }
      } else {
        builder.gatedMLP(p + "mlp.", hidden: hidden, intermediate: intermediate, layer: layer, role: override ?? .mlp)
        mlpBiases(p + "mlp.", intermediate: intermediate, role: override ?? .mlp)
      }
    }
    for layer in 0..<layers { decoderLayer(layer, role: nil) }
    // Multi-token prediction (DeepSeek-V3): a full decoder layer plus its own
    // embedding, norms, projection and head, stored as model.layers.{L+i}.
    for index in 0..<mtp {
      let layer = layers + index
      let p = "model.layers.\(layer)."
      decoderLayer(layer, role: .multiTokenPrediction)
      builder.plain(p + "embed_tokens.weight", [vocab, hidden], layer: layer, role: .multiTokenPrediction)
      builder.plain(p + "enorm.weight", [hidden], layer: layer, role: .multiTokenPrediction)
      builder.plain(p + "hnorm.weight", [hidden], layer: layer, role: .multiTokenPrediction)
      builder.plain(p + "eh_proj.weight", [hidden, 2 * hidden], layer: layer, role: .multiTokenPrediction)
      builder.plain(p + "shared_head.norm.weight", [hidden], layer: layer, role: .multiTokenPrediction)
      builder.plain(p + "shared_head.head.weight", [vocab, hidden], layer: layer, role: .multiTokenPrediction)
    }
    builder.plain("model.norm.weight", [hidden], layer: nil, role: .norm)
    builder.plain("lm_head.weight", [vocab, hidden], layer: nil, role: .head)
    var notes: [String] = []
    if mtp > 0 {
      notes.append(
        "\(mtp) multi-token-prediction layer(s) stored after the decoder are counted in the weights; engines load them only for speculative decoding"
      )
    }
    return ModelSpec(
      name: name,
      family: family,
      hiddenSize: hidden,
      layers: layers,
      extraLayers: mtp,
      vocabularySize: vocab,
      intermediateSize: intermediate,
      maxContext: try optionalInt("max_position_embeddings") ?? 4096,
      attention: AttentionSpec(
        heads: heads,
        kvHeads: heads,
        keyHeadDim: nope + rope,
        valueHeadDim: valueDim,
        mla: .init(kvLoraRank: kvLora, ropeHeadDim: rope),
        layers: Array(repeating: .full, count: layers)
      ),
      moe: MoESpec(routedExperts: experts, expertsPerToken: perToken, sharedExperts: shared, moeLayers: moeLayers),
      tiedEmbeddings: false,
      tensors: builder.tensors,
      tensorSource: .config,
      quantization: quantization,
      notes: notes
    )
  }
}
