/// Builds a ``ModelSpec`` from a GGUF header: the tensors with their ggml types
/// and exact bytes, and the architecture metadata that decides the KV cache and
/// placement (block count, heads, KV heads, head sizes, context, experts).
package enum GGUFModel {
  /// Reads `path` and returns its model.
  package static func spec(path: String) throws -> ModelSpec {
    try spec(header: try GGUFReader.read(path: path), name: path, source: path)
  }

  /// Builds the model from a parsed header.
  package static func spec(header: GGUFReader.Header, name: String, source: String) throws -> ModelSpec {
    let metadata = header.metadata
    guard let architecture = metadata["general.architecture"]?.stringValue else {
      throw InputError(
        .malformed,
        source: source,
        field: "general.architecture",
        message: "GGUF file names no architecture",
        expected: "general.architecture (llama, qwen2, deepseek2, …)"
      )
    }
    func key(_ suffix: String) -> GGUFReader.Value? { metadata["\(architecture).\(suffix)"] }
    // Every size is checked against its physical range where it is read
    // (``FieldBounds``): a negative, zero or 2^62 head count is refused, not used.
    var bad: InputError?
    /// Keeps the first problem found, thrown once the sizes are read.
    func refuse(_ field: String, _ message: String, expected: String) {
      bad = bad ?? InputError(.malformed, source: source, field: field, message: message, expected: expected)
    }
    func int(_ suffix: String) -> Int? {
      guard let raw = key(suffix) else { return nil }
      let field = "\(architecture).\(suffix)"
      guard let value = raw.intValue else {
        refuse(field, "'\(field)' is not a whole number of a sensible size", expected: "a whole number")
        return nil
      }
      if let kind = FieldBounds.kind(ofGGUFKey: suffix) {
        do { return try FieldBounds.check(value, kind, field: field, source: source) } catch let error as InputError {
          bad = bad ?? error
          return nil
        } catch { return nil }
      }
      return value
    }
    func latent(rank: Int?) -> AttentionSpec.MLA? {
      guard let rank, rank > 0 else { return nil }
      return .init(kvLoraRank: rank, ropeHeadDim: int("rope.dimension_count") ?? 64)
    }
    func required(_ suffix: String) throws -> Int {
      guard let value = int(suffix), value >= 0, value <= 100_000_000 else {
        if let bad { throw bad }
        throw InputError(
          .malformed,
          source: source,
          field: "\(architecture).\(suffix)",
          message: "GGUF metadata lacks a sensible \(architecture).\(suffix)",
          expected: "a whole number"
        )
      }
      return value
    }
    let layers = try required("block_count")
    let hidden = try required("embedding_length")
    // Head counts may be per-layer arrays (some hybrid models); use the largest.
    func perLayer(_ suffix: String) -> Int? {
      if case .array(let values) = key(suffix) ?? .bool(false) {
        let field = "\(architecture).\(suffix)"
        let numbers = values.map(\.intValue)
        guard let kind = FieldBounds.kind(ofGGUFKey: suffix),
          numbers.allSatisfy({ $0.map(kind.range.contains) ?? false })
        else {
          refuse(
            field,
            "'\(field)' lists a value outside what any model has",
            expected: "whole numbers in \(FieldBounds.kind(ofGGUFKey: suffix)?.range.description ?? "range")"
          )
          return nil
        }
        return numbers.compactMap { $0 }.max()
      }
      return int(suffix)
    }
    let heads = perLayer("attention.head_count") ?? 0
    let kvHeads = perLayer("attention.head_count_kv") ?? heads
    let keyLength = int("attention.key_length") ?? (heads > 0 ? hidden / heads : 0)
    let valueLength = int("attention.value_length") ?? keyLength
    let context = int("context_length") ?? 4096
    let feedForward = perLayer("feed_forward_length") ?? 0
    let experts = int("expert_count") ?? 0
    let expertsUsed = int("expert_used_count") ?? 0
    let nextN = int("nextn_predict_layers") ?? 0
    let decoderLayers = max(layers - nextN, 0)
    let vocabulary =
      metadata["tokenizer.ggml.tokens"]?.count ?? int("vocab_size")
      ?? header.tensors.first { $0.name == "token_embd.weight" }.map { Int($0.dimensions.last ?? 0) } ?? 0
    if let bad { throw bad }
    // Sizes that contradict each other or the file's own tensors.
    func contradiction(_ field: String, _ message: String, expected: String) -> InputError {
      InputError(
        .inconsistent,
        source: source,
        field: "\(architecture).\(field)",
        message: message,
        expected: expected,
        fix: "Use the model's original GGUF file"
      )
    }
    let names = header.tensors.map(\.name)
    if kvHeads > heads {
      throw contradiction(
        "attention.head_count_kv",
        "\(kvHeads) KV heads but \(heads) attention heads",
        expected: "at most head_count KV heads"
      )
    }
    if heads > 0, kvHeads > 0, heads % kvHeads != 0 {
      throw contradiction(
        "attention.head_count_kv",
        "\(kvHeads) KV heads do not divide \(heads) attention heads",
        expected: "a divisor of head_count"
      )
    }
    let attends = names.contains { $0.hasSuffix(".attn_q.weight") || $0.hasSuffix(".attn_qkv.weight") }
    if attends, heads == 0 || (kvHeads == 0 && metadata.keys.allSatisfy { !$0.hasPrefix("\(architecture).ssm.") }) {
      throw contradiction(
        heads == 0 ? "attention.head_count" : "attention.head_count_kv",
        "the file has attention tensors but \(heads == 0 ? "no attention heads" : "no KV heads") (and no ssm.* keys of a recurrent model)",
        expected: "the head counts of its attention layers"
      )
    }
    if feedForward == 0, experts == 0, names.contains(where: { $0.hasSuffix(".ffn_up.weight") }) {
      throw contradiction(
        "feed_forward_length",
        "feed_forward_length is 0 but the file has MLP tensors",
        expected: "the MLP width"
      )
    }
    if expertsUsed > experts {
      throw contradiction(
        "expert_used_count",
        "\(expertsUsed) experts used per token of \(experts)",
        expected: "at most expert_count"
      )
    }

    var tensors: [TensorSpec] = []
    for tensor in header.tensors {
      let layer = TensorNaming.layer(of: tensor.name)
      var role = TensorNaming.role(of: tensor.name, layer: layer, decoderLayers: decoderLayers)
      if tensor.name.hasPrefix("output.") && layer == nil { role = .head }
      tensors.append(
        TensorSpec(
          name: tensor.name,
          shape: tensor.dimensions,
          storage: .ggml(tensor.type),
          bytes: tensor.bytes,
          layer: layer,
          role: role
        )
      )
    }
    // KV layout per layer.
    var attentionLayers = [LayerAttention](repeating: .full, count: decoderLayers)
    if let window = int("attention.sliding_window"), window > 0 {
      // The family's rule (``ModelFamily/SlidingWindow``); a GGUF file names a
      // window only where the model uses one, so a family whose config.json rule
      // needs `use_sliding_window` (or an unknown one) slides on every layer.
      var rule = ModelFamily.named(ggufArchitecture: architecture)?.slidingWindow ?? .everyLayer
      if case .fromMaxWindowLayers = rule { rule = .everyLayer }
      attentionLayers = ModelFamily.layerAttention(
        rule,
        layers: decoderLayers,
        window: window,
        period: nil,
        useSlidingWindow: true,
        maxWindowLayers: nil
      )
    }
    // Encoders (llama.cpp's BERT family: embedding and reranking models) keep no
    // cache at all.
    if ["bert", "nomic-bert", "nomic-bert-moe", "jina-bert-v2", "jina-bert-v3", "neo-bert", "modern-bert"]
      .contains(architecture)
      || metadata["\(architecture).attention.causal"] == .bool(false)
    {
      attentionLayers = Array(repeating: .none, count: decoderLayers)
    }
    // Recurrent layers (Mamba, Mamba-2, Gated DeltaNet, and the hybrids): llama.cpp
    // keeps per sequence and layer a convolution state of (d_conv − 1) ·
    // (d_inner + 2 · n_group · d_state) values and a recurrent state of
    // d_state · d_inner values, both in f32 (llama-memory-recurrent).
    var notes: [String] = []
    var unknownState: String?
    if metadata.keys.contains(where: { $0.hasPrefix("\(architecture).ssm.") }) {
      if let inner = int("ssm.inner_size"), let state = int("ssm.state_size"), let kernel = int("ssm.conv_kernel") {
        let groups = int("ssm.group_count") ?? 0
        let values =
          Int64(max(kernel - 1, 0)) * (Int64(inner) + 2 * Int64(groups) * Int64(state)) + Int64(state) * Int64(inner)
        let recurrent = LayerAttention.recurrent(stateBytes: values * 4)
        let perLayerKV: [Int]? = {
          if case .array(let values) = key("attention.head_count_kv") ?? .bool(false) {
            return values.compactMap(\.intValue).map { Int($0) }
          }
          return nil
        }()
        for layer in 0..<decoderLayers {
          let isRecurrent: Bool
          if let perLayerKV, perLayerKV.count >= decoderLayers {
            isRecurrent = perLayerKV[layer] == 0
          } else if let interval = int("full_attention_interval"), interval > 0 {
            isRecurrent = (layer + 1) % interval != 0
          } else {
            isRecurrent = heads == 0 || kvHeads == 0
          }
          if isRecurrent { attentionLayers[layer] = recurrent }
        }
        notes.append(
          "recurrent state in f32, as llama.cpp keeps it: \(values * 4) bytes per sequence and recurrent layer"
        )
      } else {
        unknownState = architecture
      }
    }
    // No attention heads and no state-space keys: nothing says what the cache holds.
    if unknownState == nil, latent(rank: int("attention.kv_lora_rank")) == nil, heads == 0 || kvHeads == 0,
      !attentionLayers.contains(where: { $0.stateBytes > 0 })
    {
      unknownState = architecture
      notes.append("the file gives no attention heads and no state-space sizes: its KV cache is not known")
    }
    var mla: AttentionSpec.MLA?
    mla = latent(rank: int("attention.kv_lora_rank"))
    let types = Set(
      header.tensors.filter { $0.name.hasSuffix("attn_q.weight") || $0.name.hasSuffix("ffn_down.weight") }.map(
        \.type.name
      )
    )
    let fileType = metadata["general.file_type"]?.intValue
    var moe: MoESpec?
    if experts > 0 {
      let moeLayers = Set(
        header.tensors.filter { $0.name.contains("_exps") }.compactMap { TensorNaming.layer(of: $0.name) }
      )
      .filter { $0 < decoderLayers }.sorted()
      moe = MoESpec(
        routedExperts: experts,
        expertsPerToken: expertsUsed,
        sharedExperts: int("expert_shared_count") ?? 0,
        moeLayers: moeLayers
      )
    }
    var spec = ModelSpec(
      name: metadata["general.name"]?.stringValue ?? name,
      family: architecture,
      hiddenSize: hidden,
      layers: decoderLayers,
      extraLayers: nextN,
      vocabularySize: vocabulary,
      intermediateSize: feedForward,
      maxContext: context,
      attention: AttentionSpec(
        heads: heads,
        kvHeads: kvHeads,
        keyHeadDim: keyLength,
        valueHeadDim: valueLength,
        mla: mla,
        layers: attentionLayers
      ),
      moe: moe,
      tiedEmbeddings: !header.tensors.contains { $0.name == "output.weight" },
      tensors: tensors,
      tensorSource: .gguf,
      quantization: types.sorted().joined(separator: "+"),
      notes: (fileType.map { ["GGUF v\(header.version), general.file_type \($0)"] } ?? ["GGUF v\(header.version)"])
        + notes
    )
    // State-space metadata this reader cannot interpret: the weights are exact,
    // the state is refused (fail closed) until given.
    spec.unknownArchitecture = unknownState
    if int("context_length") != nil { spec.contextLimitSource = "GGUF \(architecture).context_length \(context)" }
    return spec
  }
}
