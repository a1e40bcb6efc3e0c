import Foundation

/// Reads a Hugging Face `config.json` into a ``ModelSpec`` whose tensor list is
/// the one the model's safetensors checkpoint stores: the same names, shapes and
/// dtypes, so that the byte total equals the index's `metadata.total_size`.
///
/// Each family is a descriptor in `Models/Families/` (``ModelFamily``): Llama
/// 1/2/3.x, Mistral, Mixtral, Qwen2/2.5, Qwen2-MoE, Qwen3, Qwen3-MoE, Gemma 1/2/3,
/// Phi-2, Phi-3, DeepSeek-V2/V3, gpt-oss, GPT-2, BERT and RoBERTa. An unknown
/// `model_type` with the usual keys is read as a Llama-style decoder, with a note
/// saying so.
package enum HFConfigReader {
  /// Reads config.json text.
  ///
  /// - Parameters:
  ///   - name: the model's name for reports (a Hub id or a path).
  ///   - source: where the text came from, for errors.
  /// - Throws: ``InputError`` naming the missing or malformed key.
  package static func read(_ data: Data, name: String, source: String) throws -> ModelSpec {
    try read(data, name: name, source: source, dropQuantization: false)
  }

  /// Reads config.json text, optionally as the unquantized model it describes
  /// (`quantization_config` left out: every linear in the config's float dtype).
  static func read(_ data: Data, name: String, source: String, dropQuantization: Bool) throws -> ModelSpec {
    try read(
      json: JSONValue.parse(data, source: source),
      text: data,
      name: name,
      source: source,
      dropQuantization: dropQuantization
    )
  }

  /// Reads a parsed config.json (`text`: the file as it was, kept with a quantized model).
  static func read(
    json parsed: JSONValue,
    text data: Data,
    name: String,
    source: String,
    dropQuantization: Bool = false
  ) throws -> ModelSpec {
    var json = parsed
    guard case .object(var object) = json else {
      throw InputError(.malformed, source: source, message: "config.json is not a JSON object")
    }
    if dropQuantization {
      object["quantization_config"] = nil
      if case .object(var text) = object["text_config"] ?? .null {
        text["quantization_config"] = nil
        object["text_config"] = .object(text)
      }
      json = .object(object)
    }
    var config = Config(json: json, source: source)
    let outerType = json["model_type"]?.stringValue ?? "this model"
    let vision: JSONValue? = if case .object = json["vision_config"] ?? .null { json["vision_config"] } else { nil }
    let tower = vision == nil ? nil : VisionTower.reader(modelType: outerType)
    // Multimodal wrappers (Gemma 3, Llama 4, Llava-style) keep the language model
    // in text_config; others (Qwen2.5-VL) at the top level beside vision_config.
    if let text = json["text_config"], case .object = text {
      config = Config(json: text, source: source)
      config.inheritedDType = Config(json: json, source: source).declaredDType
      if tower == nil {
        config.wrapperNote =
          "\(outerType) is multimodal: only its language model (text_config) is counted; the vision tower is not"
      }
      if config.json["tie_word_embeddings"] == nil, let tied = json["tie_word_embeddings"]?.boolValue {
        config.tiedOverride = tied
      }
    }
    var spec = try config.build(name: name)
    if vision != nil { spec.multimodalWrapper = outerType }
    if spec.quantization != nil,
      json["quantization_config"] != nil || json["text_config"]?["quantization_config"] != nil
    {
      spec.quantizedConfig = String(decoding: data, as: UTF8.self)
    }
    if let (limit, source) = try config.contextLimit() {
      spec.maxContext = limit
      spec.contextLimitSource = source
      // Past the trained positions where a scaling stretches them (YaRN, linear,
      // dynamic); not for llama3 or longrope RoPE, whose models were trained at
      // the long context (Llama 3.1 at 131072 over an original 8192).
      let rope = config.json["rope_scaling"] ?? config.json["rope_parameters"]
      let type = (rope?["rope_type"] ?? rope?["type"])?.stringValue ?? ""
      if !["llama3", "longrope", "su"].contains(type),
        let original = rope?["original_max_position_embeddings"]?.intValue, original < limit
      {
        spec.trainedContext = Int(original)
      }
    }
    if let tower, let vision {
      let visionConfig = Config(json: vision, source: source)
      var builder = TensorListBuilder(dtype: config.dtype, linear: .unquantized(config.dtype), skip: [])
      let summary = try tower(visionConfig, &builder, spec.hiddenSize)
      let bytes = builder.tensors.reduce(0) { $0 + $1.bytes }
      spec.tensors += builder.tensors
      spec.notes.append(
        "\(outerType) is multimodal: its vision tower (\(summary)) is counted as weights, \(Units.formatBytes(bytes)), placed with the embeddings; image activations are not"
      )
    }
    return spec
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
  /// The wrapper's dtype, for a text_config that names none.
  var inheritedDType: TensorDType?

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
    guard json[key] != nil else { throw missing(key, family: family) }
    guard let value = try optionalInt(key) else { throw missing(key, family: family) }
    return value
  }

  /// An integer key: within its physical range (``FieldBounds``) when it has one,
  /// else from 0 to 100000000.
  func optionalInt(_ key: String) throws -> Int? {
    guard let raw = json[key], raw != .null else { return nil }
    guard let value = raw.intValue, value >= 0, value <= 100_000_000 else {
      throw InputError(
        .malformed,
        source: source,
        field: key,
        message: "'\(key)' is not a sensible size",
        expected:
          "a whole number from \(FieldBounds.kind(ofConfigKey: key)?.range.lowerBound ?? 0) to \(FieldBounds.kind(ofConfigKey: key)?.range.upperBound ?? 100_000_000)"
      )
    }
    if let kind = FieldBounds.kind(ofConfigKey: key) {
      return try FieldBounds.check(Int(value), kind, field: key, source: source)
    }
    return Int(value)
  }

  func bool(_ key: String, default value: Bool) -> Bool { json[key]?.boolValue ?? value }

  var modelType: String { json["model_type"]?.stringValue ?? "" }

  /// The stored dtype of unquantized tensors.
  var dtype: TensorDType { declaredDType ?? inheritedDType ?? .f32 }

  /// The dtype config.json names (`torch_dtype`, or `dtype` in transformers 5), if any.
  var declaredDType: TensorDType? {
    guard let name = json["torch_dtype"]?.stringValue ?? json["dtype"]?.stringValue else { return nil }
    return TensorDType(torchName: name)
  }

  /// The family's reader (``ModelFamily/reading``); an unknown family, or one read
  /// from its tensors only, as a Llama-style decoder whose experts are inferred.
  func build(name: String) throws -> ModelSpec {
    try checkBoundedKeys()
    try checkScale()
    let family = ModelFamily.named(modelType: modelType)
    switch family?.reading {
    case .custom(let read): return try read(self, name)
    case .decoder(let traits): return try buildDecoder(name: name, family: family, traits: traits)
    case .tensorsOnly, nil: return try buildDecoder(name: name, family: nil, traits: .init())
    }
  }

  // MARK: - Quantization of the checkpoint

  /// A tensor-list builder in the config's dtype and linear storage, and the
  /// checkpoint's quantization name: how every family's reader starts.
  func tensorBuilder() throws -> (TensorListBuilder, String?) {
    let (storage, skip, quantization) = try linearStorage()
    return (TensorListBuilder(dtype: dtype, linear: storage, skip: skip), quantization)
  }

  /// The wrapper's note (a multimodal model's text part), as a list of notes.
  var wrapperNotes: [String] { (wrapperNote.map { [$0] } ?? []) + stateTypeNotes }

  /// Says so when config.json asks for a float32 recurrent state beside weights of
  /// another float type (Qwen3.5's `mamba_ssm_dtype`, Nemotron-H's `mamba_ssm_cache_dtype`).
  var stateTypeNotes: [String] {
    guard ssmStateElementBytes() == 4, dtype.bytesPerElement != 4,
      let key = ["mamba_ssm_cache_dtype", "mamba_ssm_dtype"].first(where: { json[$0] != nil })
    else { return [] }
    return ["recurrent state in float32, as config.json's \(key) asks; convolution state in \(dtype.rawValue)"]
  }

  /// Refuses a config whose sizes, each within its own range, multiply to more
  /// than any machine holds, before a tensor list is built: at most 262,144
  /// expert blocks (layers × experts; DeepSeek-V3 has 15,616) and 2^50 parameters
  /// (a thousand times the largest model), computed with overflow checks.
  /// Every size key config.json holds at its top level or in `text_config`,
  /// checked against its physical range (``FieldBounds``) whether or not this
  /// family's reader uses it: no untrusted size gets past the reader unchecked.
  /// (`top_k` is left to the readers that use it: some configs carry it as a
  /// sampling setting.)
  func checkBoundedKeys() throws {
    for (prefix, object) in [("", json.objectValue), ("text_config.", json["text_config"]?.objectValue)] {
      guard let object else { continue }
      for (key, kind) in FieldBounds.configKeys.sorted(by: { $0.key < $1.key }) where key != "top_k" {
        guard let raw = object[key], raw.doubleValue != nil else { continue }
        guard let value = raw.intValue, value >= Int64(kind.range.lowerBound), value <= Int64(kind.range.upperBound)
        else {
          throw InputError(
            .malformed,
            source: source,
            field: prefix + key,
            message: "'\(prefix + key)' is \(Self.describe(raw)), outside what any model has",
            expected: "a whole number from \(kind.range.lowerBound) to \(kind.range.upperBound)",
            fix: "Use the model's original config.json; a value this far out is a damaged or hostile file"
          )
        }
      }
    }
  }

  /// A number as config.json wrote it: `-1`, `4611686018427387904`, `2.5`.
  static func describe(_ value: JSONValue) -> String {
    switch value {
    case .int(let number): String(number)
    case .double(let number): String(number)
    default: "not a number"
    }
  }

  func checkScale() throws {
    let layers = Int64(try optionalInt("num_hidden_layers") ?? optionalInt("n_layer") ?? 1)
    let hidden = Int64(try optionalInt("hidden_size") ?? optionalInt("n_embd") ?? optionalInt("d_model") ?? 1)
    let width = Int64(
      max(
        try optionalInt("intermediate_size") ?? 0,
        try optionalInt("moe_intermediate_size") ?? 0,
        try optionalInt("n_inner") ?? 0,
        Int(hidden)
      )
    )
    let experts = Int64(
      max(
        try optionalInt("num_local_experts") ?? 0,
        try optionalInt("num_experts") ?? 0,
        try optionalInt("n_routed_experts") ?? 0,
        1
      )
    )
    let blocks = layers.multipliedReportingOverflow(by: experts)
    let perBlock = hidden.multipliedReportingOverflow(by: width)
    let total = blocks.partialValue.multipliedReportingOverflow(by: perBlock.partialValue)
    let exceeds =
      blocks.overflow || perBlock.overflow || total.overflow || blocks.partialValue > 262_144
      || total.partialValue.multipliedReportingOverflow(by: 3).overflow || total.partialValue * 3 > 1 << 50
    guard !exceeds else {
      throw InputError(
        .malformed,
        source: source,
        message:
          "\(layers) layers × \(experts) experts × \(hidden) × \(width) is more parameters than any model has",
        expected: "at most 262144 layer-expert blocks and 2^50 parameters",
        fix: "Use the model's original config.json; sizes this large are a damaged or hostile file"
      )
    }
  }

  /// The storage of quantizable linear layers, and the module patterns left unquantized.
  func linearStorage() throws -> (LinearStorage, [String], String?) {
    let base = LinearStorage.unquantized(dtype)
    guard let quant = json["quantization_config"], case .object = quant else { return (base, [], nil) }
    let method = (quant["quant_method"]?.stringValue ?? "").lowercased()
    let skip = (quant["modules_to_not_convert"]?.arrayValue ?? quant["ignore"]?.arrayValue ?? [])
      .compactMap(\.stringValue)
    func field(_ key: String, _ defaultValue: Int64) -> Int64 { quant[key]?.intValue ?? defaultValue }
    // Untrusted sizes of the quantization: bits 1–8 of the packed 32-bit words,
    // groups from 1 to 2^20 values (-1: one group per row, as GPTQ writes it).
    func checked(_ bits: Int64, _ group: Int64, _ bitsKey: String, _ groupKey: String) throws -> (Int64, Int64) {
      guard (1...8).contains(bits) else {
        throw InputError(
          .malformed,
          source: source,
          field: "quantization_config.\(bitsKey)",
          message: "\(bitsKey) is \(bits)",
          expected: "1 to 8 bits per weight"
        )
      }
      guard group == -1 || (1...(1 << 20)).contains(group) else {
        throw InputError(
          .malformed,
          source: source,
          field: "quantization_config.\(groupKey)",
          message: "\(groupKey) is \(group)",
          expected: "-1 (one group per row) or 1 to 1048576 values per group"
        )
      }
      return (bits, group)
    }
    switch method {
    case "fp8":
      let block = quant["weight_block_size"]?.arrayValue?.compactMap(\.intValue) ?? []
      guard block.count == 2, block[0] > 0, block[1] > 0 else {
        return (.compressedTensorsFP8, skip, "fp8 per-channel")
      }
      return (.fp8Block(rows: block[0], columns: block[1]), skip, "fp8")
    case "gptq":
      let (bits, group) = try checked(field("bits", 4), field("group_size", 128), "bits", "group_size")
      return (.gptq(bits: bits, groupSize: group < 0 ? Int64.max / 4 : group), skip, "gptq")
    case "awq":
      let (bits, group) = try checked(
        field("bits", field("w_bit", 4)),
        field("group_size", field("q_group_size", 128)),
        "bits",
        "group_size"
      )
      return (.awq(bits: bits, groupSize: group < 0 ? Int64.max / 4 : group), skip, "awq")
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
      let (_, group) = try checked(
        bits,
        weights?["group_size"]?.intValue ?? 128,
        "config_groups.weights.num_bits",
        "config_groups.weights.group_size"
      )
      return (.compressedTensorsW4A16(groupSize: group < 0 ? Int64.max / 4 : group), skip, "compressed-tensors w4a16")
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

  /// The longest context as vLLM derives it (`derive_max_model_len_and_key` and
  /// `_get_and_verify_max_len`): the smallest of `max_position_embeddings`,
  /// `n_positions`, `max_seq_len`, `seq_length`, `max_target_positions`,
  /// `max_sequence_length`, `max_seq_length`, `seq_len`, or `model_max_length` when
  /// given; times the RoPE scaling `factor`, except for the types whose
  /// `max_position_embeddings` is already scaled (`su`, `longrope`, `llama3`, `yarn`,
  /// `deepseek_yarn`, `deepseek_llama_scaling`) and for Gemma 3. Nil when no key is given.
  func contextLimit() throws -> (Int, String)? {
    let keys = [
      "max_position_embeddings", "n_positions", "max_seq_len", "seq_length", "max_target_positions",
      "max_sequence_length", "max_seq_length", "seq_len",
    ]
    var found: (Int, String)?
    for key in keys {
      if let value = try optionalInt(key), value > 0, value < (found?.0 ?? Int.max) { found = (value, key) }
    }
    if let value = try optionalInt("model_max_length"), value > 0 { found = (value, "model_max_length") }
    guard let (length, key) = found else { return nil }
    let rope = json["rope_scaling"]?.objectValue ?? json["rope_parameters"]?.objectValue
    let type = rope?["rope_type"]?.stringValue ?? rope?["type"]?.stringValue ?? "default"
    if type != "default", let original = rope?["original_max_position_embeddings"]?.intValue, original < length {
      return (length, "\(key) \(length), RoPE \(type) over \(original) trained positions")
    }
    let alreadyScaled = ["su", "longrope", "llama3", "yarn", "deepseek_yarn", "deepseek_llama_scaling", "default"]
    guard !alreadyScaled.contains(type), !modelType.hasPrefix("gemma3"),
      let factor = rope?["factor"]?.doubleValue, factor > 1, factor <= 1024
    else {
      return (length, "\(key) \(length)")
    }
    let scaled = Int((Double(length) * factor).rounded(.down))
    return (scaled, "\(key) \(length) × RoPE \(type) factor \(Units.formatDecimal(factor, places: 2))")
  }

  /// The head dimension, after checking that the attention numbers agree: every
  /// size positive, KV heads dividing the query heads (grouped-query attention),
  /// and, without an explicit `head_dim`, heads dividing the hidden size.
  ///
  /// - Throws: ``InputError`` naming the field that contradicts the others.
  func attentionShape(hidden: Int, heads: Int, kvHeads: Int, vocab: Int) throws -> Int {
    func contradiction(_ field: String, _ message: String, expected: String) -> InputError {
      InputError(
        .malformed,
        source: source,
        field: field,
        message: message,
        expected: expected,
        fix: "Use the model's original config.json"
      )
    }
    for (field, value) in [("hidden_size", hidden), ("num_attention_heads", heads), ("vocab_size", vocab)]
    where value <= 0 {
      throw contradiction(field, "'\(field)' is \(value)", expected: "a positive number")
    }
    guard kvHeads > 0, kvHeads <= heads, heads % kvHeads == 0 else {
      throw contradiction(
        "num_key_value_heads",
        "\(kvHeads) key/value heads do not divide \(heads) attention heads",
        expected: "a divisor of num_attention_heads (\(heads))"
      )
    }
    if let explicit = try optionalInt("head_dim") {
      guard explicit > 0 else { throw contradiction("head_dim", "'head_dim' is 0", expected: "a positive number") }
      return explicit
    }
    guard hidden % heads == 0 else {
      throw contradiction(
        "num_attention_heads",
        "hidden_size \(hidden) is not a multiple of num_attention_heads \(heads), and no head_dim is given",
        expected: "a divisor of hidden_size, or an explicit head_dim"
      )
    }
    return hidden / heads
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

  /// A Llama-style decoder with `traits`; `known` is nil for a `model_type`
  /// shardplan does not read (said in a note).
  func buildDecoder(name: String, family known: ModelFamily?, traits: ModelFamily.DecoderTraits) throws -> ModelSpec {
    let family = modelType.isEmpty ? "decoder" : modelType
    var notes = wrapperNotes
    if known == nil {
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
        "model_type '\(family)' is not a known family: its dimensions are read as a Llama-style decoder's, its tensors must come from safetensors headers and its KV cache from --kv-bytes-per-token"
      )
    }
    let hidden = try int("hidden_size", family: family)
    let layers = try int("num_hidden_layers", family: family)
    let heads = try int("num_attention_heads", family: family)
    let kvHeads = try optionalInt("num_key_value_heads") ?? heads
    let vocab = try int("vocab_size", family: family)
    let headDim = try attentionShape(hidden: hidden, heads: heads, kvHeads: kvHeads, vocab: vocab)
    let intermediate = try optionalInt("intermediate_size") ?? 4 * hidden
    var (builder, quantization) = try tensorBuilder()
    let tied = tiedOverride ?? bool("tie_word_embeddings", default: traits.tiedByDefault)
    builder.plain("model.embed_tokens.weight", [vocab, hidden], layer: nil, role: .embedding)
    func on(_ flag: ModelFamily.DecoderTraits.Switch?) -> Bool {
      guard let flag else { return true }
      let key = json[flag.key] == nil ? flag.alias ?? flag.key : flag.key
      return bool(key, default: flag.fallback)
    }
    let (queryKeyValueBias, outputBias): (Bool, Bool) =
      switch traits.attentionBias {
      case .never: (false, false)
      case .queryKeyValue(let flag): (on(flag), false)
      case .all(let flag): (on(flag), on(flag))
      }
    let mlpBias = traits.mlpBias.map { on($0) } ?? false
    let qkNorm = bool("use_qk_norm", default: false) ? traits.qkNormWhenAsked : traits.qkNorm
    // Which expert layout: the family's, or the one the config's keys name.
    var expertLayout = traits.experts
    if case .inferred = expertLayout {
      if json["num_local_experts"] != nil {
        expertLayout = .mixtral
      } else if json["num_experts"] != nil {
        expertLayout = .qwen(sharedExpert: false)
      }
    }

    // MoE.
    var moe: MoESpec?
    var experts = 0
    var expertIntermediate = intermediate
    var expertsPerToken = 0
    var moeLayers: [Int] = []
    var sharedExpert = false
    var sharedExperts = 0
    switch expertLayout {
    case .inferred:
      break
    case .mixtral, .miniMax, .graniteStacked:
      experts = try int("num_local_experts", family: family)
      expertsPerToken = try int("num_experts_per_tok", family: family)
      moeLayers = Array(0..<layers)
    case .qwen(let shared):
      sharedExpert = shared
      experts = try int("num_experts", family: family)
      expertsPerToken = try int("num_experts_per_tok", family: family)
      expertIntermediate = try optionalInt("moe_intermediate_size") ?? intermediate
      let step = max(try optionalInt("decoder_sparse_step") ?? 1, 1)
      let denseOnly = Set((json["mlp_only_layers"]?.arrayValue ?? []).compactMap { $0.intValue.map(Int.init) })
      moeLayers = (0..<layers).filter { !denseOnly.contains($0) && ($0 + 1) % step == 0 }
    case .deepSeekStyle:
      experts = try int("n_routed_experts", family: family)
      expertsPerToken = try int("num_experts_per_tok", family: family)
      expertIntermediate = try int("moe_intermediate_size", family: family)
      sharedExperts = try optionalInt("n_shared_experts") ?? 0
      let firstDense = try optionalInt("first_k_dense_replace") ?? 0
      moeLayers = Array(min(firstDense, layers)..<layers)
    case .llama4:
      experts = try int("num_local_experts", family: family)
      expertsPerToken = try int("num_experts_per_tok", family: family)
      if let listed = json["moe_layers"]?.arrayValue {
        moeLayers = listed.compactMap { $0.intValue.map(Int.init) }.filter { (0..<layers).contains($0) }
      } else {
        let step = max(try optionalInt("interleave_moe_layer_step") ?? 1, 1)
        moeLayers = Array(stride(from: step - 1, to: layers, by: step))
      }
      sharedExperts = 1
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
      moe = MoESpec(
        routedExperts: experts,
        expertsPerToken: expertsPerToken,
        sharedExperts: sharedExpert ? 1 : sharedExperts,
        moeLayers: moeLayers
      )
    }
    var attentionLayers = try layerAttention(layers: layers, rule: known?.slidingWindow ?? .fromMaxWindowLayers)
    let deltaNet = traits.gatedDeltaNet == .none ? nil : try gatedDeltaNetShape(split: traits.gatedDeltaNet == .split)
    if let deltaNet {
      for layer in try linearAttentionLayers(layers: layers) {
        attentionLayers[layer] = .recurrent(
          stateBytes: deltaNet.stateBytes(element: dtype.bytesPerElement, ssmElement: ssmStateElementBytes())
        )
      }
    }
    let moeSet = Set(moeLayers)
    for layer in 0..<layers {
      let p = "model.layers.\(layer)."
      if let deltaNet, case .recurrent = attentionLayers[layer] {
        deltaNet.append(to: &builder, prefix: p + "linear_attn.", hidden: hidden, layer: layer)
      } else if traits.fusedProjections {
        builder.linear(
          p + "self_attn.qkv_proj",
          out: (heads + 2 * kvHeads) * headDim,
          input: hidden,
          layer: layer,
          role: .attention
        )
        builder.linear(p + "self_attn.o_proj", out: hidden, input: heads * headDim, layer: layer, role: .attention)
      } else {
        let queries = heads * headDim * (traits.gatedAttention ? 2 : 1)
        builder.linear(p + "self_attn.q_proj", out: queries, input: hidden, layer: layer, role: .attention)
        builder.linear(p + "self_attn.k_proj", out: kvHeads * headDim, input: hidden, layer: layer, role: .attention)
        builder.linear(p + "self_attn.v_proj", out: kvHeads * headDim, input: hidden, layer: layer, role: .attention)
        builder.linear(p + "self_attn.o_proj", out: hidden, input: heads * headDim, layer: layer, role: .attention)
        if queryKeyValueBias {
          builder.plain(p + "self_attn.q_proj.bias", [queries], layer: layer, role: .attention)
          builder.plain(p + "self_attn.k_proj.bias", [kvHeads * headDim], layer: layer, role: .attention)
          builder.plain(p + "self_attn.v_proj.bias", [kvHeads * headDim], layer: layer, role: .attention)
        }
        if outputBias { builder.plain(p + "self_attn.o_proj.bias", [hidden], layer: layer, role: .attention) }
        switch qkNorm {
        case .none: break
        case .perHead:
          builder.plain(p + "self_attn.q_norm.weight", [headDim], layer: layer, role: .norm)
          builder.plain(p + "self_attn.k_norm.weight", [headDim], layer: layer, role: .norm)
        case .fullWidth:
          builder.plain(p + "self_attn.q_norm.weight", [heads * headDim], layer: layer, role: .norm)
          builder.plain(p + "self_attn.k_norm.weight", [kvHeads * headDim], layer: layer, role: .norm)
        }
      }
      let norms: [String]
      switch traits.norms {
      case .llama: norms = ["input_layernorm", "post_attention_layernorm"]
      case .sandwich:
        norms = [
          "input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm", "post_feedforward_layernorm",
        ]
      case .parallel: norms = ["input_layernorm"]
      case .postOnly: norms = ["post_attention_layernorm", "post_feedforward_layernorm"]
      }
      for norm in norms {
        builder.plain(p + norm + ".weight", [hidden], layer: layer, role: .norm)
        if traits.normBias { builder.plain(p + norm + ".bias", [hidden], layer: layer, role: .norm) }
      }
      if moeSet.contains(layer) {
        try appendExperts(
          expertLayout,
          to: &builder,
          prefix: p,
          experts: experts,
          hidden: hidden,
          intermediate: expertIntermediate,
          sharedExperts: sharedExperts,
          layer: layer
        )
        if sharedExpert {
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
      } else if case .llama4 = expertLayout {
        let dense = try optionalInt("intermediate_size_mlp") ?? intermediate
        builder.gatedMLP(p + "feed_forward.", hidden: hidden, intermediate: dense, layer: layer, role: .mlp)
      } else if traits.fusedProjections {
        builder.linear(p + "mlp.gate_up_proj", out: 2 * intermediate, input: hidden, layer: layer, role: .mlp)
        builder.linear(p + "mlp.down_proj", out: hidden, input: intermediate, layer: layer, role: .mlp)
      } else {
        let projections: [(String, Int, Int)]
        switch traits.mlp {
        case .gated:
          projections = [
            ("gate_proj", intermediate, hidden), ("up_proj", intermediate, hidden), ("down_proj", hidden, intermediate),
          ]
        case .plain(let up, let down): projections = [(up, intermediate, hidden), (down, hidden, intermediate)]
        }
        for (name, out, input) in projections {
          builder.linear(p + "mlp." + name, out: out, input: input, layer: layer, role: .mlp)
          if mlpBias { builder.plain(p + "mlp.\(name).bias", [out], layer: layer, role: .mlp) }
        }
      }
    }
    builder.plain("model.norm.weight", [hidden], layer: nil, role: .norm)
    if traits.normBias { builder.plain("model.norm.bias", [hidden], layer: nil, role: .norm) }
    if !tied {
      builder.plain("lm_head.weight", [vocab, hidden], layer: nil, role: .head)
      if bool("lm_head_bias", default: false) { builder.plain("lm_head.bias", [vocab], layer: nil, role: .head) }
    }
    if traits.gatedDeltaNet != .none {
      notes.append(
        "the checkpoint also stores a multi-token-prediction block (mtp.*), which transformers does not load and vLLM loads only for speculative decoding: not counted"
      )
    }
    if let mtp = try optionalInt("num_nextn_predict_layers"), mtp > 0 {
      notes.append(
        "the checkpoint also stores \(mtp) multi-token-prediction layer(s), which transformers does not load and vLLM loads only for speculative decoding: not counted"
      )
    }
    var spec = try standardSpec(
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
      attentionLayers: attentionLayers,
      moe: moe,
      tied: tied,
      tensors: builder.tensors,
      quantization: quantization,
      notes: notes
    )
    if known == nil { spec.unknownArchitecture = family }
    return spec
  }

  /// The routed experts (and DeepSeek-style or Llama 4 shared experts) of one MoE layer.
  func appendExperts(
    _ layout: ModelFamily.DecoderTraits.Experts,
    to builder: inout TensorListBuilder,
    prefix p: String,
    experts: Int,
    hidden: Int,
    intermediate: Int,
    sharedExperts: Int,
    layer: Int
  ) throws {
    switch layout {
    case .inferred: return
    case .mixtral, .miniMax:
      builder.plain(p + "block_sparse_moe.gate.weight", [experts, hidden], layer: layer, role: .router)
      if case .miniMax = layout {
        builder.plain(p + "block_sparse_moe.e_score_correction_bias", [experts], layer: layer, role: .buffer)
      }
      for e in 0..<experts {
        let q = p + "block_sparse_moe.experts.\(e)."
        builder.linear(q + "w1", out: intermediate, input: hidden, layer: layer, role: .expert, expert: e)
        builder.linear(q + "w2", out: hidden, input: intermediate, layer: layer, role: .expert, expert: e)
        builder.linear(q + "w3", out: intermediate, input: hidden, layer: layer, role: .expert, expert: e)
      }
    case .qwen, .deepSeekStyle:
      builder.plain(p + "mlp.gate.weight", [experts, hidden], layer: layer, role: .router)
      if case .deepSeekStyle = layout {
        builder.plain(p + "mlp.gate.e_score_correction_bias", [experts], layer: layer, role: .buffer, dtype: .f32)
      }
      for e in 0..<experts {
        builder.gatedMLP(
          p + "mlp.experts.\(e).",
          hidden: hidden,
          intermediate: intermediate,
          layer: layer,
          role: .expert,
          expert: e
        )
      }
      if case .deepSeekStyle = layout, sharedExperts > 0 {
        builder.gatedMLP(
          p + "mlp.shared_experts.",
          hidden: hidden,
          intermediate: intermediate * sharedExperts,
          layer: layer,
          role: .sharedExpert
        )
      }
    case .graniteStacked:
      // Stacked over experts, as the checkpoint stores them.
      builder.plain(p + "block_sparse_moe.router.layer.weight", [experts, hidden], layer: layer, role: .router)
      builder.plain(
        p + "block_sparse_moe.input_linear.weight",
        [experts, 2 * intermediate, hidden],
        layer: layer,
        role: .expert
      )
      builder.plain(
        p + "block_sparse_moe.output_linear.weight",
        [experts, hidden, intermediate],
        layer: layer,
        role: .expert
      )
    case .llama4:
      builder.plain(p + "feed_forward.router.weight", [experts, hidden], layer: layer, role: .router)
      builder.plain(
        p + "feed_forward.experts.gate_up_proj",
        [experts, hidden, 2 * intermediate],
        layer: layer,
        role: .expert
      )
      builder.plain(p + "feed_forward.experts.down_proj", [experts, intermediate, hidden], layer: layer, role: .expert)
      builder.gatedMLP(
        p + "feed_forward.shared_expert.",
        hidden: hidden,
        intermediate: intermediate,
        layer: layer,
        role: .sharedExpert
      )
    }
  }

  /// Full or sliding-window attention per layer: `layer_types` when config.json
  /// lists them, else the family's rule (``ModelFamily/SlidingWindow``).
  func layerAttention(layers: Int, rule: ModelFamily.SlidingWindow) throws -> [LayerAttention] {
    let window = try optionalInt("sliding_window")
    if let types = json["layer_types"]?.arrayValue?.compactMap(\.stringValue) {
      guard types.count == layers else {
        throw InputError(
          .malformed,
          source: source,
          field: "layer_types",
          message: "layer_types lists \(types.count) layers but num_hidden_layers is \(layers)",
          expected: "one entry per decoder layer",
          fix: "Use the model's original config.json"
        )
      }
      let chunk = try optionalInt("attention_chunk_size")
      return types.map { type in
        switch type {
        case "sliding_attention": window.map { .sliding(window: $0) } ?? .full
        // Llama 4's chunked local attention keeps at most one chunk of keys and values.
        case "chunked_attention": chunk.map { .sliding(window: $0) } ?? .full
        default: .full
        }
      }
    }
    // Llama 4 without layer_types: the RoPE layers (no_rope_layers 1) attend in chunks.
    if let chunk = try optionalInt("attention_chunk_size"), chunk > 0,
      let flags = json["no_rope_layers"]?.arrayValue?.compactMap(\.intValue), flags.count == layers
    {
      return flags.map { $0 == 1 ? .sliding(window: chunk) : .full }
    }
    guard let window, window > 0 else { return Array(repeating: .full, count: layers) }
    return ModelFamily.layerAttention(
      rule,
      layers: layers,
      window: window,
      period: try optionalInt("sliding_window_pattern"),
      useSlidingWindow: bool("use_sliding_window", default: false),
      maxWindowLayers: try optionalInt("max_window_layers")
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
