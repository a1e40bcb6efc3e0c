import Foundation

/// Reads a Hugging Face `config.json` into a ``ModelSpec`` whose tensor list is
/// the one the model's safetensors checkpoint stores: the same names, shapes and
/// dtypes, so that the byte total equals the index's `metadata.total_size`.
///
/// Families: Llama 1/2/3.x, Mistral, Qwen2/2.5, Qwen3, Qwen3-MoE, Mixtral,
/// DeepSeek-V2/V3 (MLA, shared + routed experts, first dense layers, MTP
/// layers), gpt-oss (MXFP4 experts, sliding-window layers, attention sinks),
/// Gemma 1/2/3 (sliding windows, tied embeddings), Phi-2, Phi-3, GPT-2 and BERT.
/// An unknown `model_type` with the usual keys is read as a Llama-style decoder,
/// with a note saying so.
package enum HFConfigReader {
  /// Reads config.json text.
  ///
  /// - Parameters:
  ///   - name: the model's name for reports (a Hub id or a path).
  ///   - source: where the text came from, for errors.
  /// - Throws: ``InputError`` naming the missing or malformed key.
  package static func read(_ data: Data, name: String, source: String) throws -> ModelSpec {
    let json = try JSONValue.parse(data, source: source)
    guard case .object = json else {
      throw InputError(.malformed, source: source, message: "config.json is not a JSON object")
    }
    var config = Config(json: json, source: source)
    // Multimodal wrappers (Gemma 3, Llava-style) keep the language model in text_config.
    if let text = json["text_config"], case .object = text {
      let outerType = json["model_type"]?.stringValue
      config = Config(json: text, source: source)
      config.wrapperNote =
        "\(outerType ?? "this model") is multimodal: only its language model (text_config) is counted; the vision tower is not"
      if config.json["tie_word_embeddings"] == nil, let tied = json["tie_word_embeddings"]?.boolValue {
        config.tiedOverride = tied
      }
    }
    return try config.build(name: name)
  }

  /// Keys every decoder needs, for the error when one is missing.
  static let decoderKeys = ["hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size"]
}

/// A config.json being read, with typed accessors that throw a located error.
struct Config {
  let json: JSONValue
  let source: String
  var wrapperNote: String?
  var tiedOverride: Bool?

  init(json: JSONValue, source: String) {
    self.json = json
    self.source = source
  }

  func missing(_ key: String, family: String) -> InputError {
    InputError(
      .malformed,
      source: source,
      field: key,
      message: "config.json of a \(family) model has no '\(key)'",
      expected: "an integer",
      fix: "Use the model's original config.json"
    )
  }

  func int(_ key: String, family: String) throws -> Int {
    guard let raw = json[key] else { throw missing(key, family: family) }
    guard let value = raw.intValue, value >= 0, value <= 100_000_000 else {
      throw InputError(
        .malformed,
        source: source,
        field: key,
        message: "'\(key)' is not a sensible size",
        expected: "a whole number from 0 to 100000000"
      )
    }
    return Int(value)
  }

  func optionalInt(_ key: String) throws -> Int? {
    guard let raw = json[key], raw != .null else { return nil }
    guard let value = raw.intValue, value >= 0, value <= 100_000_000 else {
      throw InputError(
        .malformed,
        source: source,
        field: key,
        message: "'\(key)' is not a sensible size",
        expected: "a whole number from 0 to 100000000"
      )
    }
    return Int(value)
  }

  func bool(_ key: String, default value: Bool) -> Bool { json[key]?.boolValue ?? value }

  var modelType: String { json["model_type"]?.stringValue ?? "" }

  /// The stored dtype of unquantized tensors.
  var dtype: TensorDType {
    if let name = json["torch_dtype"]?.stringValue ?? json["dtype"]?.stringValue,
      let dtype = TensorDType(torchName: name)
    {
      return dtype
    }
    return .f32
  }

  func build(name: String) throws -> ModelSpec {
    let family = modelType
    switch family {
    case "gpt2": return try buildGPT2(name: name)
    case "bert", "roberta", "xlm-roberta": return try buildBERT(name: name)
    case "phi": return try buildPhi(name: name)
    case "deepseek_v2", "deepseek_v3": return try buildDeepSeek(name: name)
    case "gpt_oss": return try buildGPTOSS(name: name)
    default: return try buildDecoder(name: name)
    }
  }

  // MARK: - Quantization of the checkpoint

  /// The storage of quantizable linear layers, and the module patterns left unquantized.
  func linearStorage() throws -> (LinearStorage, [String], String?) {
    let base = LinearStorage.unquantized(dtype)
    guard let quant = json["quantization_config"], case .object = quant else { return (base, [], nil) }
    let method = (quant["quant_method"]?.stringValue ?? "").lowercased()
    let skip = (quant["modules_to_not_convert"]?.arrayValue ?? quant["ignore"]?.arrayValue ?? [])
      .compactMap(\.stringValue)
    func field(_ key: String, _ defaultValue: Int64) -> Int64 { quant[key]?.intValue ?? defaultValue }
    switch method {
    case "fp8":
      let block = quant["weight_block_size"]?.arrayValue?.compactMap(\.intValue) ?? []
      guard block.count == 2, block[0] > 0, block[1] > 0 else {
        return (.compressedTensorsFP8, skip, "fp8 per-channel")
      }
      return (.fp8Block(rows: block[0], columns: block[1]), skip, "fp8")
    case "gptq":
      let bits = field("bits", 4)
      let group = field("group_size", 128)
      return (.gptq(bits: bits, groupSize: group < 0 ? Int64.max / 4 : group), skip, "gptq")
    case "awq":
      return (
        .awq(bits: field("bits", field("w_bit", 4)), groupSize: field("group_size", field("q_group_size", 128))), skip,
        "awq"
      )
    case "bitsandbytes":
      if quant["load_in_8bit"]?.boolValue == true {
        return (
          .bitsandbytes8, skip + (quant["llm_int8_skip_modules"]?.arrayValue?.compactMap(\.stringValue) ?? []),
          "bitsandbytes 8-bit"
        )
      }
      let double = quant["bnb_4bit_use_double_quant"]?.boolValue ?? false
      return (
        .bitsandbytes4(doubleQuantization: double),
        skip + (quant["llm_int8_skip_modules"]?.arrayValue?.compactMap(\.stringValue) ?? []), "bitsandbytes 4-bit"
      )
    case "mxfp4":
      // Only gpt-oss's experts are MXFP4; its other linears stay bf16.
      return (base, skip, "mxfp4")
    case "compressed-tensors":
      let groups = quant["config_groups"]?.objectValue?.values.first
      let weights = groups?["weights"]
      let bits = weights?["num_bits"]?.intValue ?? 4
      let type = weights?["type"]?.stringValue ?? "int"
      if bits == 8 && type == "float" { return (.compressedTensorsFP8, skip, "compressed-tensors fp8") }
      let group = weights?["group_size"]?.intValue ?? 128
      return (.compressedTensorsW4A16(groupSize: group), skip, "compressed-tensors w4a16")
    default:
      throw InputError(
        .malformed,
        source: source,
        field: "quantization_config.quant_method",
        message: "unknown quantization method '\(method)'",
        expected: "fp8, gptq, awq, bitsandbytes, mxfp4 or compressed-tensors",
        fix: "Read the model's safetensors headers instead: they list the stored tensors exactly"
      )
    }
  }

  /// A model with standard (non-MLA) attention: every family but DeepSeek's.
  func standardSpec(
    name: String,
    family: String,
    hidden: Int,
    layers: Int,
    heads: Int,
    kvHeads: Int,
    headDim: Int,
    vocab: Int,
    intermediate: Int,
    defaultContext: Int,
    attentionLayers: [LayerAttention],
    moe: MoESpec?,
    tied: Bool,
    tensors: [TensorSpec],
    quantization: String?,
    notes: [String]
  ) throws -> ModelSpec {
    ModelSpec(
      name: name,
      family: family,
      hiddenSize: hidden,
      layers: layers,
      extraLayers: 0,
      vocabularySize: vocab,
      intermediateSize: intermediate,
      maxContext: try optionalInt("max_position_embeddings") ?? defaultContext,
      attention: AttentionSpec(
        heads: heads,
        kvHeads: kvHeads,
        keyHeadDim: headDim,
        valueHeadDim: headDim,
        mla: nil,
        layers: attentionLayers
      ),
      moe: moe,
      tiedEmbeddings: tied,
      tensors: tensors,
      tensorSource: .config,
      quantization: quantization,
      notes: notes
    )
  }

  // MARK: - Llama-style decoders

  func buildDecoder(name: String) throws -> ModelSpec {
    let family = modelType.isEmpty ? "decoder" : modelType
    let known = [
      "llama", "mistral", "qwen2", "qwen3", "qwen3_moe", "mixtral", "gemma", "gemma2", "gemma3_text", "gemma3", "phi3",
      "qwen2_moe",
    ]
    var notes: [String] = []
    if let wrapperNote { notes.append(wrapperNote) }
    if !known.contains(family) {
      let missingKeys = HFConfigReader.decoderKeys.filter { json[$0] == nil }
      guard missingKeys.isEmpty else {
        throw InputError(
          .malformed,
          source: source,
          field: missingKeys.joined(separator: ", "),
          message:
            "model_type '\(family)' is not a known family and the config lacks \(missingKeys.joined(separator: ", "))",
          expected: "a decoder config with \(HFConfigReader.decoderKeys.joined(separator: ", "))",
          fix: "Give the model's safetensors files or a GGUF file instead, whose tensors are read directly"
        )
      }
      notes.append(
        "model_type '\(family)' is not a known family: read as a Llama-style decoder (check the total against its safetensors)"
      )
    }
    let hidden = try int("hidden_size", family: family)
    let layers = try int("num_hidden_layers", family: family)
    let heads = try int("num_attention_heads", family: family)
    let kvHeads = try optionalInt("num_key_value_heads") ?? heads
    let vocab = try int("vocab_size", family: family)
    guard heads > 0, kvHeads > 0, hidden > 0 else {
      throw InputError(
        .malformed,
        source: source,
        field: "num_attention_heads",
        message: "heads and hidden size must be positive"
      )
    }
    let headDim = try optionalInt("head_dim") ?? hidden / heads
    let intermediate = try optionalInt("intermediate_size") ?? 4 * hidden
    let (storage, skip, quantization) = try linearStorage()
    let isGemma = family.hasPrefix("gemma")
    let tied = tiedOverride ?? bool("tie_word_embeddings", default: isGemma)
    var builder = TensorListBuilder(dtype: dtype, linear: storage, skip: skip)
    builder.plain("model.embed_tokens.weight", [vocab, hidden], layer: nil, role: .embedding)
    let attentionBias = bool("attention_bias", default: family == "qwen2" || family == "qwen2_moe")
    let qkNorm = family == "qwen3" || family == "qwen3_moe" || family.hasPrefix("gemma3")

    // MoE.
    var moe: MoESpec?
    var experts = 0
    var expertIntermediate = intermediate
    var expertsPerToken = 0
    var moeLayers: [Int] = []
    if family == "mixtral" || json["num_local_experts"] != nil {
      experts = try int("num_local_experts", family: family)
      expertsPerToken = try int("num_experts_per_tok", family: family)
      moeLayers = Array(0..<layers)
    } else if family == "qwen3_moe" || family == "qwen2_moe" || json["num_experts"] != nil {
      experts = try int("num_experts", family: family)
      expertsPerToken = try int("num_experts_per_tok", family: family)
      expertIntermediate = try optionalInt("moe_intermediate_size") ?? intermediate
      let step = max(try optionalInt("decoder_sparse_step") ?? 1, 1)
      let denseOnly = Set((json["mlp_only_layers"]?.arrayValue ?? []).compactMap { $0.intValue.map(Int.init) })
      moeLayers = (0..<layers).filter { !denseOnly.contains($0) && ($0 + 1) % step == 0 }
    }
    if experts > 0 {
      guard expertsPerToken <= experts else {
        throw InputError(
          .malformed,
          source: source,
          field: "num_experts_per_tok",
          message: "\(expertsPerToken) experts per token but only \(experts) experts"
        )
      }
      moe = MoESpec(routedExperts: experts, expertsPerToken: expertsPerToken, sharedExperts: 0, moeLayers: moeLayers)
    }
    let moeSet = Set(moeLayers)
    for layer in 0..<layers {
      let p = "model.layers.\(layer)."
      if family == "phi3" {
        builder.linear(
          p + "self_attn.qkv_proj",
          out: (heads + 2 * kvHeads) * headDim,
          input: hidden,
          layer: layer,
          role: .attention
        )
      } else {
        builder.linear(p + "self_attn.q_proj", out: heads * headDim, input: hidden, layer: layer, role: .attention)
        builder.linear(p + "self_attn.k_proj", out: kvHeads * headDim, input: hidden, layer: layer, role: .attention)
        builder.linear(p + "self_attn.v_proj", out: kvHeads * headDim, input: hidden, layer: layer, role: .attention)
      }
      builder.linear(p + "self_attn.o_proj", out: hidden, input: heads * headDim, layer: layer, role: .attention)
      if attentionBias {
        builder.plain(p + "self_attn.q_proj.bias", [heads * headDim], layer: layer, role: .attention)
        builder.plain(p + "self_attn.k_proj.bias", [kvHeads * headDim], layer: layer, role: .attention)
        builder.plain(p + "self_attn.v_proj.bias", [kvHeads * headDim], layer: layer, role: .attention)
      }
      if qkNorm {
        builder.plain(p + "self_attn.q_norm.weight", [headDim], layer: layer, role: .norm)
        builder.plain(p + "self_attn.k_norm.weight", [headDim], layer: layer, role: .norm)
      }
      builder.plain(p + "input_layernorm.weight", [hidden], layer: layer, role: .norm)
      builder.plain(p + "post_attention_layernorm.weight", [hidden], layer: layer, role: .norm)
      if family == "gemma2" || family.hasPrefix("gemma3") {
        builder.plain(p + "pre_feedforward_layernorm.weight", [hidden], layer: layer, role: .norm)
        builder.plain(p + "post_feedforward_layernorm.weight", [hidden], layer: layer, role: .norm)
      }
      if moeSet.contains(layer), family == "mixtral" || (family != "qwen3_moe" && family != "qwen2_moe") {
        builder.plain(p + "block_sparse_moe.gate.weight", [experts, hidden], layer: layer, role: .router)
        for e in 0..<experts {
          let q = p + "block_sparse_moe.experts.\(e)."
          builder.linear(q + "w1", out: expertIntermediate, input: hidden, layer: layer, role: .expert, expert: e)
          builder.linear(q + "w2", out: hidden, input: expertIntermediate, layer: layer, role: .expert, expert: e)
          builder.linear(q + "w3", out: expertIntermediate, input: hidden, layer: layer, role: .expert, expert: e)
        }
      } else if moeSet.contains(layer) {
        builder.plain(p + "mlp.gate.weight", [experts, hidden], layer: layer, role: .router)
        for e in 0..<experts {
          builder.gatedMLP(
            p + "mlp.experts.\(e).",
            hidden: hidden,
            intermediate: expertIntermediate,
            layer: layer,
            role: .expert,
            expert: e
          )
        }
        if family == "qwen2_moe" {
          let shared = try optionalInt("shared_expert_intermediate_size") ?? expertIntermediate
          builder.gatedMLP(
            p + "mlp.shared_expert.",
            hidden: hidden,
            intermediate: shared,
            layer: layer,
            role: .sharedExpert
          )
          builder.plain(p + "mlp.shared_expert_gate.weight", [1, hidden], layer: layer, role: .router)
        }
      } else if family == "phi3" {
        builder.linear(p + "mlp.gate_up_proj", out: 2 * intermediate, input: hidden, layer: layer, role: .mlp)
        builder.linear(p + "mlp.down_proj", out: hidden, input: intermediate, layer: layer, role: .mlp)
      } else {
        builder.gatedMLP(p + "mlp.", hidden: hidden, intermediate: intermediate, layer: layer, role: .mlp)
      }
    }
    builder.plain("model.norm.weight", [hidden], layer: nil, role: .norm)
    if !tied { builder.plain("lm_head.weight", [vocab, hidden], layer: nil, role: .head) }
    if family == "qwen2_moe", moe != nil { moe?.sharedExperts = 1 }
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
      attentionLayers: try layerAttention(layers: layers, family: family),
      moe: moe,
      tied: tied,
      tensors: builder.tensors,
      quantization: quantization,
      notes: notes
    )
  }

  /// Full or sliding-window attention per layer, as the family defines it.
  func layerAttention(layers: Int, family: String) throws -> [LayerAttention] {
    let window = try optionalInt("sliding_window")
    if let types = json["layer_types"]?.arrayValue?.compactMap(\.stringValue), types.count == layers {
      return types.map { type in
        type == "sliding_attention" ? (window.map { .sliding(window: $0) } ?? .full) : .full
      }
    }
    guard let window, window > 0 else { return Array(repeating: .full, count: layers) }
    switch family {
    case "gemma2":
      // transformers Gemma2: even layers are local (sliding), odd layers global.
      return (0..<layers).map { $0 % 2 == 0 ? .sliding(window: window) : .full }
    case "gemma3", "gemma3_text":
      // Gemma 3: every `sliding_window_pattern`-th layer is global (default 6).
      let pattern = max(try optionalInt("sliding_window_pattern") ?? 6, 1)
      return (0..<layers).map { ($0 + 1) % pattern == 0 ? .full : .sliding(window: window) }
    case "mistral", "mixtral":
      return Array(repeating: .sliding(window: window), count: layers)
    default:
      // Qwen2/3 carry a sliding_window value but use it only with use_sliding_window.
      guard bool("use_sliding_window", default: false) else { return Array(repeating: .full, count: layers) }
      let firstFull = try optionalInt("max_window_layers") ?? layers
      return (0..<layers).map { $0 >= firstFull ? .sliding(window: window) : .full }
    }
  }

  // MARK: - DeepSeek-V2 / V3

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
    let (storage, skip, quantization) = try linearStorage()
    var builder = TensorListBuilder(dtype: dtype, linear: storage, skip: skip)
    let correctionBias = json["topk_method"]?.stringValue == "noaux_tc"
    builder.plain("model.embed_tokens.weight", [vocab, hidden], layer: nil, role: .embedding)
    var moeLayers: [Int] = []
    func decoderLayer(_ layer: Int, role override: TensorRole?) {
      let p = "model.layers.\(layer)."
      let attention = override ?? .attention
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
            role: override ?? .router,
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
        }
      } else {
        builder.gatedMLP(p + "mlp.", hidden: hidden, intermediate: intermediate, layer: layer, role: override ?? .mlp)
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

  // MARK: - gpt-oss

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
      attentionLayers: try layerAttention(layers: layers, family: family),
      moe: MoESpec(routedExperts: experts, expertsPerToken: perToken, sharedExperts: 0, moeLayers: Array(0..<layers)),
      tied: false,
      tensors: builder.tensors,
      quantization: quantization,
      notes: ["attention sinks: one learned logit per head per layer (self_attn.sinks)"]
    )
  }

  // MARK: - Phi-2

  func buildPhi(name: String) throws -> ModelSpec {
    let family = modelType
    let hidden = try int("hidden_size", family: family)
    let layers = try int("num_hidden_layers", family: family)
    let heads = try int("num_attention_heads", family: family)
    let kvHeads = try optionalInt("num_key_value_heads") ?? heads
    let vocab = try int("vocab_size", family: family)
    let intermediate = try int("intermediate_size", family: family)
    let headDim = hidden / max(heads, 1)
    let (storage, skip, quantization) = try linearStorage()
    var builder = TensorListBuilder(dtype: dtype, linear: storage, skip: skip)
    builder.plain("model.embed_tokens.weight", [vocab, hidden], layer: nil, role: .embedding)
    for layer in 0..<layers {
      let p = "model.layers.\(layer)."
      for (projection, out) in [
        ("q_proj", heads * headDim), ("k_proj", kvHeads * headDim), ("v_proj", kvHeads * headDim),
      ] {
        builder.linear(p + "self_attn.\(projection)", out: out, input: hidden, layer: layer, role: .attention)
        builder.plain(p + "self_attn.\(projection).bias", [out], layer: layer, role: .attention)
      }
      builder.linear(p + "self_attn.dense", out: hidden, input: heads * headDim, layer: layer, role: .attention)
      builder.plain(p + "self_attn.dense.bias", [hidden], layer: layer, role: .attention)
      builder.linear(p + "mlp.fc1", out: intermediate, input: hidden, layer: layer, role: .mlp)
      builder.plain(p + "mlp.fc1.bias", [intermediate], layer: layer, role: .mlp)
      builder.linear(p + "mlp.fc2", out: hidden, input: intermediate, layer: layer, role: .mlp)
      builder.plain(p + "mlp.fc2.bias", [hidden], layer: layer, role: .mlp)
      builder.plain(p + "input_layernorm.weight", [hidden], layer: layer, role: .norm)
      builder.plain(p + "input_layernorm.bias", [hidden], layer: layer, role: .norm)
    }
    builder.plain("model.final_layernorm.weight", [hidden], layer: nil, role: .norm)
    builder.plain("model.final_layernorm.bias", [hidden], layer: nil, role: .norm)
    builder.plain("lm_head.weight", [vocab, hidden], layer: nil, role: .head)
    builder.plain("lm_head.bias", [vocab], layer: nil, role: .head)
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
      defaultContext: 2048,
      attentionLayers: Array(repeating: .full, count: layers),
      moe: nil,
      tied: false,
      tensors: builder.tensors,
      quantization: quantization,
      notes: []
    )
  }

  // MARK: - GPT-2

  func buildGPT2(name: String) throws -> ModelSpec {
    let family = modelType
    let hidden = try int("n_embd", family: family)
    let layers = try int("n_layer", family: family)
    let heads = try int("n_head", family: family)
    let vocab = try int("vocab_size", family: family)
    let positions = try int("n_positions", family: family)
    let inner = try optionalInt("n_inner") ?? 4 * hidden
    var builder = TensorListBuilder(
      dtype: json["torch_dtype"] == nil ? .f32 : dtype,
      linear: .unquantized(dtype),
      skip: []
    )
    builder.plain("wte.weight", [vocab, hidden], layer: nil, role: .embedding)
    builder.plain("wpe.weight", [positions, hidden], layer: nil, role: .positionEmbedding)
    for layer in 0..<layers {
      let p = "h.\(layer)."
      // GPT-2's Conv1D stores weights as [in, out].
      builder.plain(p + "ln_1.weight", [hidden], layer: layer, role: .norm)
      builder.plain(p + "ln_1.bias", [hidden], layer: layer, role: .norm)
      builder.plain(p + "attn.c_attn.weight", [hidden, 3 * hidden], layer: layer, role: .attention)
      builder.plain(p + "attn.c_attn.bias", [3 * hidden], layer: layer, role: .attention)
      builder.plain(p + "attn.c_proj.weight", [hidden, hidden], layer: layer, role: .attention)
      builder.plain(p + "attn.c_proj.bias", [hidden], layer: layer, role: .attention)
      builder.plain(p + "ln_2.weight", [hidden], layer: layer, role: .norm)
      builder.plain(p + "ln_2.bias", [hidden], layer: layer, role: .norm)
      builder.plain(p + "mlp.c_fc.weight", [hidden, inner], layer: layer, role: .mlp)
      builder.plain(p + "mlp.c_fc.bias", [inner], layer: layer, role: .mlp)
      builder.plain(p + "mlp.c_proj.weight", [inner, hidden], layer: layer, role: .mlp)
      builder.plain(p + "mlp.c_proj.bias", [hidden], layer: layer, role: .mlp)
      // The original checkpoint stores each layer's causal mask (a buffer, not a parameter).
      builder.plain(p + "attn.bias", [1, 1, positions, positions], layer: layer, role: .buffer)
    }
    builder.plain("ln_f.weight", [hidden], layer: nil, role: .norm)
    builder.plain("ln_f.bias", [hidden], layer: nil, role: .norm)
    return try standardSpec(
      name: name,
      family: family,
      hidden: hidden,
      layers: layers,
      heads: heads,
      kvHeads: heads,
      headDim: hidden / max(heads, 1),
      vocab: vocab,
      intermediate: inner,
      defaultContext: positions,
      attentionLayers: Array(repeating: .full, count: layers),
      moe: nil,
      tied: true,
      tensors: builder.tensors,
      quantization: nil,
      notes: [
        "the checkpoint stores a \(positions)×\(positions) causal-mask buffer per layer (attn.bias), counted in the bytes but not as parameters"
      ]
    )
  }

  // MARK: - BERT

  func buildBERT(name: String) throws -> ModelSpec {
    let family = modelType
    let hidden = try int("hidden_size", family: family)
    let layers = try int("num_hidden_layers", family: family)
    let heads = try int("num_attention_heads", family: family)
    let vocab = try int("vocab_size", family: family)
    let positions = try int("max_position_embeddings", family: family)
    let intermediate = try int("intermediate_size", family: family)
    let types = try optionalInt("type_vocab_size") ?? 2
    var builder = TensorListBuilder(
      dtype: json["torch_dtype"] == nil ? .f32 : dtype,
      linear: .unquantized(dtype),
      skip: []
    )
    let e = "bert.embeddings."
    builder.plain(e + "word_embeddings.weight", [vocab, hidden], layer: nil, role: .embedding)
    builder.plain(e + "position_embeddings.weight", [positions, hidden], layer: nil, role: .positionEmbedding)
    builder.plain(e + "token_type_embeddings.weight", [types, hidden], layer: nil, role: .positionEmbedding)
    builder.plain(e + "LayerNorm.weight", [hidden], layer: nil, role: .norm)
    builder.plain(e + "LayerNorm.bias", [hidden], layer: nil, role: .norm)
    func dense(_ prefix: String, out: Int, input: Int, layer: Int?, role: TensorRole) {
      builder.plain(prefix + ".weight", [out, input], layer: layer, role: role)
      builder.plain(prefix + ".bias", [out], layer: layer, role: role)
    }
    for layer in 0..<layers {
      let p = "bert.encoder.layer.\(layer)."
      for projection in ["query", "key", "value"] {
        dense(p + "attention.self.\(projection)", out: hidden, input: hidden, layer: layer, role: .attention)
      }
      dense(p + "attention.output.dense", out: hidden, input: hidden, layer: layer, role: .attention)
      builder.plain(p + "attention.output.LayerNorm.weight", [hidden], layer: layer, role: .norm)
      builder.plain(p + "attention.output.LayerNorm.bias", [hidden], layer: layer, role: .norm)
      dense(p + "intermediate.dense", out: intermediate, input: hidden, layer: layer, role: .mlp)
      dense(p + "output.dense", out: hidden, input: intermediate, layer: layer, role: .mlp)
      builder.plain(p + "output.LayerNorm.weight", [hidden], layer: layer, role: .norm)
      builder.plain(p + "output.LayerNorm.bias", [hidden], layer: layer, role: .norm)
    }
    dense("bert.pooler.dense", out: hidden, input: hidden, layer: nil, role: .head)
    // Pre-training heads as in the original checkpoint; the decoder weight is tied to the embedding.
    builder.plain("cls.predictions.bias", [vocab], layer: nil, role: .head)
    dense("cls.predictions.transform.dense", out: hidden, input: hidden, layer: nil, role: .head)
    builder.plain("cls.predictions.transform.LayerNorm.weight", [hidden], layer: nil, role: .head)
    builder.plain("cls.predictions.transform.LayerNorm.bias", [hidden], layer: nil, role: .head)
    dense("cls.seq_relationship", out: 2, input: hidden, layer: nil, role: .head)
    return try standardSpec(
      name: name,
      family: family,
      hidden: hidden,
      layers: layers,
      heads: heads,
      kvHeads: heads,
      headDim: hidden / max(heads, 1),
      vocab: vocab,
      intermediate: intermediate,
      defaultContext: positions,
      attentionLayers: Array(repeating: .none, count: layers),
      moe: nil,
      tied: true,
      tensors: builder.tensors,
      quantization: nil,
      notes: [
        "an encoder: no KV cache; the tensor list is the pre-training checkpoint's (BertForPreTraining heads included)"
      ]
    )
  }
}

/// Collects tensors with exact bytes.
struct TensorListBuilder {
  var tensors: [TensorSpec] = []
  let dtype: TensorDType
  let linear: LinearStorage
  /// `modules_to_not_convert` patterns (`lm_head`, `model.layers.*.self_attn`).
  let skip: [String]

  init(dtype: TensorDType, linear: LinearStorage, skip: [String]) {
    self.dtype = dtype
    self.linear = linear
    self.skip = skip
  }

  mutating func plain(
    _ name: String,
    _ shape: [Int],
    layer: Int?,
    role: TensorRole,
    dtype override: TensorDType? = nil,
    expert: Int? = nil
  ) {
    let storage = override ?? dtype
    let dims = shape.map(Int64.init)
    let elements = dims.reduce(1, *)
    tensors.append(
      TensorSpec(
        name: name,
        shape: dims,
        storage: .dense(storage),
        bytes: elements * Int64(storage.bytesPerElement),
        layer: layer,
        role: role,
        parameters: role == .buffer ? 0 : elements,
        expert: expert
      )
    )
  }

  /// A linear layer's weight, stored as the checkpoint's quantization stores it
  /// unless the module is listed as not converted.
  mutating func linear(_ prefix: String, out: Int, input: Int, layer: Int?, role: TensorRole, expert: Int? = nil) {
    let storage = isSkipped(prefix) ? LinearStorage.unquantized(dtype) : linear
    tensors.append(
      contentsOf: storage.tensors(
        prefix: prefix,
        out: Int64(out),
        input: Int64(input),
        layer: layer,
        role: role,
        expert: expert
      )
    )
  }

  mutating func gatedMLP(
    _ prefix: String,
    hidden: Int,
    intermediate: Int,
    layer: Int,
    role: TensorRole,
    expert: Int? = nil
  ) {
    linear(prefix + "gate_proj", out: intermediate, input: hidden, layer: layer, role: role, expert: expert)
    linear(prefix + "up_proj", out: intermediate, input: hidden, layer: layer, role: role, expert: expert)
    linear(prefix + "down_proj", out: hidden, input: intermediate, layer: layer, role: role, expert: expert)
  }

  /// gpt-oss MXFP4 experts: `_blocks` U8 `[E, rows, columns/32, 16]` (two FP4 values
  /// per byte) and `_scales` U8 `[E, rows, columns/32]` (one E8M0 scale per 32 values).
  mutating func packedFP4(_ prefix: String, experts: Int, rows: Int, columns: Int, layer: Int) {
    let blocks = Int64(experts) * Int64(rows) * Int64(columns / 32)
    tensors.append(
      TensorSpec(
        name: prefix + "_blocks",
        shape: [Int64(experts), Int64(rows), Int64(columns / 32), 16],
        storage: .dense(.u8),
        bytes: blocks * 16,
        layer: layer,
        role: .expert,
        parameters: blocks * 32
      )
    )
    tensors.append(
      TensorSpec(
        name: prefix + "_scales",
        shape: [Int64(experts), Int64(rows), Int64(columns / 32)],
        storage: .dense(.u8),
        bytes: blocks,
        layer: layer,
        role: .expert,
        parameters: 0
      )
    )
  }

  /// Whether `modules_to_not_convert` covers this module: `lm_head`, a dotted
  /// prefix, or a pattern with `*` standing for one path component.
  func isSkipped(_ module: String) -> Bool {
    for pattern in skip {
      if module == pattern || module.hasPrefix(pattern + ".") || module.hasSuffix("." + pattern) { return true }
      if pattern.contains("*") {
        let parts = pattern.split(separator: ".")
        let names = module.split(separator: ".")
        if names.count >= parts.count,
          zip(parts, names).allSatisfy({ $0 == "*" || $0 == $1 })
        {
          return true
        }
      }
      // A bare component name (`gate`, `router`) matches that component anywhere.
      if !pattern.contains("."), module.split(separator: ".").contains(Substring(pattern)) { return true }
    }
    return false
  }
}
