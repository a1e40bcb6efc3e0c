/// One model to serve.
public struct InferenceRequest: Hashable, Sendable {
  /// The model, already in the weight format wanted.
  package var model: ModelSpec
  /// The weights as planned: what `model` holds.
  package var weights: PlannedWeights
  /// The role name (one per workload of a role split).
  package var role: String
  /// Tokens per sequence.
  package var context: Int
  /// Sequences served at once.
  package var concurrency: Int
  /// The KV cache's element type.
  package var kvCache: KVCacheType
  /// What the engine allocates, how it splits and what it can run: the built-in
  /// profile of `engine`, or one given for an engine shardplan does not know.
  package var profile: EngineProfile
  /// The engine that serves it; setting it takes that engine's built-in profile.
  package var engine: Engine {
    get { profile.engine }
    set { profile = EngineProfile.profile(newValue) }
  }
  /// GPUs this workload must use (global indices), or nil for any.
  package var pinnedGPUs: [Int]?
  /// Measured expert load: per MoE layer, tokens routed to each expert (EPLB's
  /// input). With it, expert-parallel plans place replicas of hot experts.
  public var expertLoad: [[Double]]?
  /// Extra expert slots for replicas of hot experts, over all GPUs of an
  /// expert-parallel group (rounded up to a multiple of the group size).
  public var redundantExperts: Int = 0

  /// A request to serve `model` (already converted to `weights`) with `engine`.
  public init(
    model: ModelSpec,
    weights: PlannedWeights,
    role: String = "default",
    context: Int,
    concurrency: Int = 1,
    kvCache: KVCacheType = .bf16,
    engine: Engine = .vllm,
    pinnedGPUs: [Int]? = nil
  ) {
    self.model = model
    self.weights = weights
    self.role = role
    self.context = context
    self.concurrency = concurrency
    self.kvCache = kvCache
    self.profile = EngineProfile.profile(engine)
    self.pinnedGPUs = pinnedGPUs
  }

  /// The same request served with the engine `profile` describes (a profile of
  /// the package's own, or a toy one in a test).
  package func serving(with profile: EngineProfile) -> InferenceRequest {
    var request = self
    request.profile = profile
    return request
  }

  /// Why the engine would refuse to start with this context: longer than the
  /// model's limit (``ModelSpec/maxContext``) for an engine that checks it (vLLM,
  /// SGLang). Nil when the context is within the limit or the engine only warns.
  package var contextRefusal: String? {
    guard profile.refusesContextBeyondLimit, context > model.maxContext else { return nil }
    return
      "a context of \(context) tokens is beyond \(model.name)'s limit of \(model.maxContext) (\(model.contextLimitSource ?? "assumed")): \(engine.rawValue) refuses to start with it"
  }

  /// The same, as the error the command line exits 2 with.
  ///
  /// - Throws: ``InputError`` naming `--context` and the longest context allowed.
  package func checkContext() throws {
    guard let refusal = contextRefusal else { return }
    throw InputError(
      .inconsistent,
      source: model.name,
      field: "--context",
      message: refusal,
      expected: "at most \(model.maxContext) tokens",
      fix:
        "Plan --context \(model.maxContext) or less, or use a config.json whose rope_scaling extends the model (a larger max_position_embeddings with YaRN)"
    )
  }

  /// Said in a plan whose engine runs past the model's limit (llama.cpp warns and runs).
  var contextWarning: String? {
    guard !profile.refusesContextBeyondLimit, context > model.maxContext else { return nil }
    return
      "the context of \(context) tokens is beyond \(model.name)'s limit of \(model.maxContext) (\(model.contextLimitSource ?? "assumed")): \(engine.rawValue) warns and runs, but quality past the trained length is not assured"
  }
}

/// Searches layouts of models on a device graph — tensor, pipeline, data and
/// expert parallelism, CPU offload, role splits, training setups — and prices each
/// with the one pricing function (``price(_:for:)``), returning the best by the
/// objective with ranked alternatives.
///
/// Deterministic: candidates are enumerated in a fixed order and ties are broken
/// by that order.
public struct Planner: Sendable {
  /// The machine planned for.
  public let graph: DeviceGraph
  /// The strategies the search may use.
  package var strategy: Strategy
  /// What the search optimises.
  package var objective: Objective
  /// A plan whose tightest GPU keeps less than this fraction of its memory free is `tight`.
  package var tightFraction: Double
  /// Each GPU's rates, by index, checked at creation.
  let rates: [CardRates]
  /// Measured factors in place of the cost model's assumptions (``Calibration/builtIn``: none).
  package let calibration: Calibration

  /// A planner for `graph`.
  ///
  /// - Throws: ``InputError`` when a GPU's memory, HBM bandwidth or dense bf16
  ///   peak is unknown: shardplan does not price a card with a made-up rate.
  public init(
    graph: DeviceGraph,
    strategy: Strategy = .auto,
    objective: Objective = .throughput,
    tightFraction: Double = 0.05,
    calibration: Calibration = .builtIn
  ) throws {
    var rates: [CardRates] = []
    for (position, gpu) in graph.gpus.enumerated() {
      var missing: [String] = []
      if (gpu.memoryBytes ?? 0) <= 0 { missing.append("memory") }
      let bandwidth = gpu.memoryBandwidthBytesPerSecond ?? 0
      if bandwidth <= 0 { missing.append("HBM bandwidth") }
      // A card without bf16 (compute capability below 8.0) computes the plan in fp16:
      // its dense fp16 figure from the catalog prices it.
      let fp16 = gpu.hasBF16 ? nil : gpu.model.flatMap { GPUCatalog.spec(named: $0)?.tflops.fp16 }
      let tflops = gpu.bf16TFLOPS ?? fp16 ?? 0
      if !(tflops > 0) { missing.append("dense bf16 TFLOPS") }
      guard missing.isEmpty, gpu.index == position else {
        throw InputError(
          .unknownName,
          source: graph.name,
          field: "GPU \(gpu.index)",
          message: "\(gpu.name): \(missing.joined(separator: ", ")) unknown, so shardplan cannot price it",
          expected: "a GPU model of the catalog (`shardplan gpus`), or memory, memoryBandwidth and bf16TFLOPS",
          fix:
            "Pass --gpu ID with a catalog id, or describe the card in a topology YAML file (memory:, memoryBandwidth:, bf16TFLOPS:)"
        )
      }
      // PCIe Gen4 x16 where no source gives the link: the device graph's assumption too.
      let pcie =
        gpu.pcieGeneration.flatMap { PCIeRates.bytesPerSecond(generation: $0, lanes: gpu.pcieWidth ?? 16) }
        ?? PCIeRates.bytesPerSecond(generation: 4, lanes: 16) ?? 0
      rates.append(CardRates(bandwidthBytesPerSecond: bandwidth, bf16TFLOPS: tflops, pcieBytesPerSecond: pcie))
    }
    // A measured bus bandwidth faster than the links of its kind here is not a
    // measurement of this machine.
    for (kind, rate) in calibration.allReduceBusBandwidth {
      let fastest = graph.links.filter { $0.kind == kind }.map(\.bandwidthBytesPerSecond).max()
      if let fastest, rate > fastest {
        throw InputError(
          .inconsistent,
          source: calibration.source ?? "calibration",
          field: "allReduceBusBandwidth.\(kind.rawValue)",
          message:
            "\(Units.formatRate(rate)) is above the \(Units.formatRate(fastest)) of \(graph.name)'s \(kind.rawValue) links",
          expected: "a bus bandwidth measured on this kind of link, at most its bandwidth",
          fix: "Measure it again on this machine (shardplan measure), or leave the kind out"
        )
      }
    }
    for entry in calibration.engineOverheads {
      let capacity = GPUCatalog.spec(named: entry.gpu).map { $0.memoryBytes } ?? .max
      if entry.bytes >= capacity {
        throw InputError(
          .inconsistent,
          source: calibration.source ?? "calibration",
          field: "engineOverheads.\(entry.engine.rawValue).\(entry.gpu)",
          message: "\(Units.formatBytes(entry.bytes)) of overhead is the whole card or more",
          expected: "less than the \(Units.formatBytes(capacity)) of a \(entry.gpu)"
        )
      }
    }
    self.graph = graph
    self.strategy = strategy
    self.objective = objective
    self.tightFraction = tightFraction
    self.rates = rates
    self.calibration = calibration
  }

  /// The fraction of dense bf16 peak prefill GEMMs reach for these weights: fp8
  /// GEMMs for fp8 weights, bf16 for the rest.
  func gemmEfficiency(_ weights: PlannedWeights) -> Double {
    let fp8: Bool =
      switch weights {
      case .converted(.fp8): true
      case .stored(let label): label.lowercased().contains("fp8") || label.lowercased().contains("f8_e4m3")
      default: false
      }
    return calibration.gemmEfficiency(fp8: fp8)
  }

  /// The bandwidth a collective over `group` runs at: the bus bandwidth measured
  /// for the kind of its slowest link when the calibration has one, else that link's.
  func collectiveBandwidth(among group: [Int]) -> Int64 {
    guard let slowest = graph.slowestLink(among: group) else { return .max }
    return calibration.allReduceBusBandwidth[slowest.kind] ?? slowest.bandwidthBytesPerSecond
  }

  /// Plans one model.
  /// - Complexity: O(T · G · S · L²) for T tensor-parallel degrees, G device groups,
  ///   S pipeline stages and L layers; milliseconds for 8-GPU nodes.
  public func plan(_ asked: InferenceRequest) -> Plan {
    if let refusal = Self.unknownKVCache(asked.model) ?? asked.contextRefusal ?? kernelRefusal(asked) {
      return Plan.empty(topology: graph.name, objective: objective, reason: refusal)
    }
    let (request, adaptations) = adapted(asked)
    var serving = Serving(request)
    var candidates = self.candidates(serving, occupied: [:])
    var reasons: [String] = []
    if objective == .longestContext {
      // Bisect the context for each GPU layout; keep the layout that holds the most.
      var bestContext = 0
      // Every layout that reaches the longest context: ties are broken by throughput.
      var bestGroups: Set<[[Int]]> = []
      for candidate in candidates
      where candidate.workload.cpuLayers == nil && candidate.workload.cpuExpertLayers == nil
        && candidate.workload.strategy != .expert
      {
        let groups = candidate.workload.stages.map(\.devices)
        // Engines that check the model's limit never get a longer context.
        let ceiling =
          request.profile.refusesContextBeyondLimit
          ? request.model.maxContext : max(request.model.maxContext, request.context)
        let low = Self.largest(in: 0...ceiling) { context in
          let probe = serving.with { $0.context = context }
          return (layerCandidate(probe, stageGroups: groups, occupied: [:])?.verdict ?? .doesNotFit) != .doesNotFit
        }
        if low > bestContext {
          bestContext = low
          bestGroups = [groups]
        } else if low == bestContext, low > 0 {
          bestGroups.insert(groups)
        }
      }
      if !bestGroups.isEmpty, bestContext > 0 {
        serving = serving.with { $0.context = bestContext }
        candidates = self.candidates(serving, occupied: [:])
        candidates.sort { a, b in
          let matchA = bestGroups.contains(a.workload.stages.map(\.devices))
          let matchB = bestGroups.contains(b.workload.stages.map(\.devices))
          return matchA != matchB ? matchA : better(a, b)
        }
        reasons.append(
          "longest context that fits: \(bestContext) tokens (the model allows \(request.model.maxContext))"
        )
      } else {
        candidates.sort { better($0, $1) }
      }
    } else {
      candidates.sort { better($0, $1) }
    }
    var fixes: [Fix] = []
    guard let best = candidates.first else {
      var empty = Plan.empty(
        topology: graph.name,
        objective: objective,
        reason:
          "no layout is possible: \(graph.gpus.isEmpty ? "the topology has no GPU" : "no tensor-parallel degree divides \(request.model.attention.heads) attention heads on these GPUs")"
      )
      empty.assumptions = assumptions(serving.request)
      return empty
    }
    let headroom = Units.formatBytes(best.headroomBytes)
    switch best.verdict {
    case .fits:
      reasons.append("\(describe(best.workload)) fits; tightest GPU keeps \(headroom) free")
    case .tight:
      reasons.append(
        "\(describe(best.workload)) fits with under \(Int(tightFraction * 100))% of a GPU free: \(headroom) on the tightest"
      )
    case .doesNotFit:
      reasons.append(
        "no layout fits: the closest, \(describe(best.workload)), \(best.shortfall?.description ?? "is short of memory")"
      )
      fixes = self.fixes(serving)
      // vLLM and SGLang start when the weights and one full-context sequence fit,
      // and queue what does not fit at once: say which of the two this is.
      if serving.profile.refusesContextBeyondLimit {
        let engine = request.engine.rawValue
        if let held = fixes.lazy.compactMap({ fix -> Int? in
          if case .concurrency(let n) = fix.change { n } else { nil }
        }).first {
          reasons.append(
            "\(engine) would start and hold \(held) of the \(request.concurrency) sequences at once, queueing the rest; to hold all of them, apply a fix"
          )
        } else if request.concurrency == 1 || !fits(serving.with { $0.concurrency = 1 }) {
          reasons.append(
            "\(engine) will not start: the weights and one sequence of \(request.context) tokens do not fit"
          )
        }
      }
      // More cards of the same kind: what the closest layout needs in all, over one card's budget.
      if let card = best.devices.first, card.usableBytes > 0 {
        let needed = best.devices.reduce(Int64(0)) { $0 + $1.usedBytes }
        let cards = Int((needed + card.usableBytes - 1) / card.usableBytes)
        let have = graph.gpus.count
        if cards > have {
          fixes.append(
            Fix(
              .gpus(count: cards, like: card.index),
              summary: "use at least \(cards) GPUs like GPU\(card.index) (\(card.name)) instead of \(have)"
            )
          )
        }
      }
    }
    let alternatives = candidates.dropFirst().prefix(5).map { candidate in
      Alternative(
        summary: describe(candidate.workload),
        verdict: candidate.verdict,
        aggregateDecodeTokensPerSecond: candidate.workload.prediction.throughput,
        whyNot: whyNot(candidate, versus: best)
      )
    }
    return Plan(
      topology: graph.name,
      objective: objective,
      verdict: best.verdict,
      reasons: reasons,
      fixes: fixes,
      workloads: [best.workload],
      devices: best.devices.includingIdleGPUs(of: graph),
      cpuBytes: best.cpuBytes,
      cpuRAMBytes: hostRAM(of: [best]),
      cpuVerdict: best.cpuVerdict,
      alternatives: Array(alternatives),
      assumptions: adaptations + assumptions(serving.request)
    )
  }

  /// The CPU RAM of the hosts whose GPUs the layouts that keep bytes in CPU RAM
  /// use, bytes; nil when none does or the topology does not know a host's RAM.
  func hostRAM(of layouts: [PricedLayout]) -> Int64? {
    let hosts = Set(layouts.filter { $0.cpuVerdict != nil }.flatMap(\.devices).map { graph.gpus[$0.index].host })
    guard !hosts.isEmpty else { return nil }
    let ram = hosts.map { graph.hosts[$0].ramBytes ?? 0 }
    return ram.contains(0) ? nil : ram.reduce(0, +)
  }

  /// The request as the GPUs can run it: on a card without bf16 (compute
  /// capability below 8.0: V100, T4, RTX 20xx) vLLM, SGLang and transformers refuse
  /// bf16, so bf16 weights are planned cast to fp16 at load (the same bytes;
  /// `--dtype float16`) and a bf16 KV cache as fp16, with a note saying so.
  /// The request as its engine and GPUs run it, with a note for each change:
  /// the engine's own cache rules (``ModelSpec/asRun(by:)``), then the GPUs'.
  func adapted(_ asked: InferenceRequest) -> (InferenceRequest, [String]) {
    var request = asked
    let (model, engineNote) = asked.model.asRun(by: asked.engine)
    request.model = model
    let (fp8, fp8Note) = adaptedForFP8(request)
    let (mxfp4, mxfp4Note) = adaptedForMXFP4(fp8)
    var (changed, gpuNote) = adaptedToGPUs(mxfp4)
    var overheadNote: String?
    let models = Set(graph.gpus.compactMap(\.model))
    if let bytes = calibration.overhead(engine: changed.engine, gpuModels: models), let gpu = models.first {
      overheadNote =
        "calibrated: \(changed.engine.rawValue) keeps \(Units.formatBytes(bytes)) of fixed overhead per \(gpu) in its budget (its profile says \(Units.formatBytes(changed.profile.overheadBytes(groupSize: 1))) on one GPU)"
      changed.profile.measuredOverheadBytes = bytes
    }
    return (changed, [engineNote, fp8Note, mxfp4Note, gpuNote, overheadNote].compactMap { $0 })
  }

  /// Whether the request's weights are MXFP4 (converted or as stored, gpt-oss).
  static func hasMXFP4Weights(_ request: InferenceRequest) -> Bool {
    if case .converted(.mxfp4) = request.weights { return true }
    if case .stored = request.weights { return request.model.quantization?.lowercased().contains("mxfp4") == true }
    return false
  }

  /// The GPUs' MXFP4 rule: transformers dequantizes MXFP4 weights to bf16 below
  /// compute capability 7.5 (`MXFP4 quantization is only supported on GPUs with
  /// compute capability >= 7.5 … We will default to dequantizing the model to
  /// bf16`); vLLM's and SGLang's MXFP4 kernels (Marlin on Ampere, Triton and
  /// FlashInfer on Hopper and Blackwell) need 8.0: ``kernelRefusal(_:)``.
  func adaptedForMXFP4(_ request: InferenceRequest) -> (InferenceRequest, String?) {
    guard Self.hasMXFP4Weights(request), request.engine == .transformers,
      let old = graph.gpus.first(where: { gpu in gpu.capability.map { $0.major * 10 + $0.minor < 75 } ?? false })
    else { return (request, nil) }
    var changed = request
    changed.model = request.model.dequantizedToBF16()
    changed.weights = .converted(.float(.bf16))
    return (
      changed,
      "GPU \(old.index) (\(old.name), compute capability \(old.computeCapability ?? "?")) has no MXFP4 kernels: transformers dequantizes the MXFP4 weights to bf16 at load, so they are planned in bf16"
    )
  }

  /// Whether the request's weights are fp8 (converted or as stored).
  static func hasFP8Weights(_ request: InferenceRequest) -> Bool {
    if case .converted(.fp8) = request.weights { return true }
    if case .stored = request.weights { return request.model.quantization?.lowercased().contains("fp8") == true }
    return false
  }

  /// The GPUs' fp8 rule, as the engines apply it: below compute capability 8.9
  /// vLLM and SGLang run fp8 weights weight-only through FP8 Marlin (the same
  /// bytes), and transformers dequantizes them to bf16 at load
  /// (`FP8 quantized models is only supported on GPUs with compute capability >=
  /// 8.9 … We will default to dequantizing the model to bf16`), which doubles them.
  /// Below 8.0 vLLM and SGLang have no fp8 kernels: ``kernelRefusal(_:)``.
  func adaptedForFP8(_ request: InferenceRequest) -> (InferenceRequest, String?) {
    guard Self.hasFP8Weights(request), let old = graph.gpus.first(where: { !$0.hasFP8 }) else {
      return (request, nil)
    }
    let card = "GPU \(old.index) (\(old.name), compute capability \(old.computeCapability ?? "?"))"
    switch request.engine {
    case .transformers:
      var changed = request
      changed.model = request.model.dequantizedToBF16()
      changed.weights = .converted(.float(.bf16))
      return (
        changed,
        "\(card) has no fp8 matmuls: transformers dequantizes fp8 weights to bf16 at load, so they are planned in bf16 (twice the bytes)"
      )
    case .vllm, .sglang:
      return (
        request,
        "\(card) has no fp8 matmuls: \(request.engine.rawValue) runs the fp8 weights weight-only through FP8 Marlin (W8A16: the same bytes, bf16 compute)"
      )
    default:
      return (request, nil)
    }
  }

  /// Why fp8 or MXFP4 weights cannot run on the GPUs at all under vLLM or SGLang
  /// (compute capability below 8.0, where their Marlin kernels stop), or nil.
  func kernelRefusal(_ request: InferenceRequest) -> String? {
    let format = Self.hasFP8Weights(request) ? "fp8" : Self.hasMXFP4Weights(request) ? "MXFP4" : nil
    guard let format, request.engine == .vllm || request.engine == .sglang,
      let old = graph.gpus.first(where: { ($0.capability?.major ?? 8) < 8 })
    else { return nil }
    return
      "GPU \(old.index) (\(old.name), compute capability \(old.computeCapability ?? "?")) has no \(format) kernels in \(request.engine.rawValue) (its Marlin kernels need 8.0): use other weights (--quant int4, --dtype fp16) or a GGUF with llama.cpp"
  }

  func adaptedToGPUs(_ request: InferenceRequest) -> (InferenceRequest, String?) {
    guard request.engine != .llamaCpp, let old = graph.gpus.first(where: { !$0.hasBF16 }) else {
      return (request, nil)
    }
    var changed = request
    var what: [String] = []
    let storedBF16 =
      request.model.quantization == nil && !request.model.tensorSource.isGGUF
      && request.model.tensors.contains { $0.storage == .dense(.bf16) }
    let bf16Weights: Bool
    switch request.weights {
    case .converted(.float(.bf16)): bf16Weights = true
    case .stored: bf16Weights = storedBF16
    default: bf16Weights = false
    }
    if bf16Weights {
      changed.model = request.model.converted(to: .float(.f16))
      changed.weights = .converted(.float(.f16))
      what.append("the weights (cast at load)")
    }
    if request.kvCache == .bf16 {
      changed.kvCache = .f16
      what.append("the KV cache")
    }
    guard !what.isEmpty else { return (request, nil) }
    return (
      changed,
      "GPU \(old.index) (\(old.name), compute capability \(old.computeCapability ?? "?")) has no bf16, which \(request.engine.rawValue) refuses there: \(what.joined(separator: " and ")) planned in fp16"
    )
  }

  /// Whether some GPU-only layout of `serving` fits.
  func fits(_ serving: Serving) -> Bool {
    candidates(serving, occupied: [:]).contains { $0.verdict != .doesNotFit && $0.workload.cpuLayers == nil }
  }

  /// Why a model cannot be served in a plan: an architecture shardplan does not
  /// know, whose KV cache was not given (fail closed, not a guessed formula).
  static func unknownKVCache(_ model: ModelSpec) -> String? {
    guard !model.kvCacheIsKnown, let architecture = model.unknownArchitecture else { return nil }
    return
      "the KV cache of '\(architecture)' is unknown (no family descriptor reads it): give its bytes per token (--kv-bytes-per-token N, ModelSpec.withKVBytesPerToken) to plan it"
  }

  func assumptions(_ request: InferenceRequest) -> [String] {
    var list = request.contextWarning.map { [$0] } ?? []
    if let trained = request.model.trainedContext, request.context > trained,
      request.context <= request.model.maxContext
    {
      list.append(
        "the context of \(request.context) tokens goes past the \(trained) positions the model was trained on, as its config's RoPE scaling allows (\(request.model.contextLimitSource ?? "config.json"))"
      )
    }
    let gemm = gemmEfficiency(request.weights)
    if let source = calibration.source {
      list += [
        "calibrated from \(source): decode reads every weight and the KV cache once per step at \(Units.formatDecimal(calibration.hbmEfficiency * 100, places: 1))% of HBM bandwidth",
        "calibrated: prefill GEMMs at \(Units.formatDecimal(gemm * 100, places: 1))% of dense bf16 peak"
          + (calibration.gemmEfficiency.isEmpty ? " (the built-in assumption: the file gives none)" : ""),
      ]
      if !calibration.allReduceBusBandwidth.isEmpty {
        list.append(
          "calibrated: collectives at the measured bus bandwidth of "
            + LinkKind.allCases.compactMap { kind in
              calibration.allReduceBusBandwidth[kind].map { "\(kind.rawValue) \(Units.formatRate($0))" }
            }.joined(separator: ", ")
        )
      }
    } else {
      list += [
        "decode reads every weight and the KV cache once per step at \(Int(CostModel.memoryEfficiency * 100))% of HBM bandwidth (aiconfigurator)",
        "prefill GEMMs at \(Int(CostModel.computeEfficiency * 100))% of dense bf16 peak (assumed)",
      ]
    }
    list.append(
      "\(Int(CostModel.collectiveLatencySeconds * 1e6)) µs per collective and hand-off (aiconfigurator p2p_latency)"
    )
    if request.profile.activationRule == .computeBuffer {
      list.append(
        "llama.cpp's compute buffer: the largest fp32 live set of one ubatch of \(request.profile.batchTokens) tokens (the output logits, one layer's FFN, or the attention), "
          + (request.profile.flashAttention
            ? "with flash attention (llama.cpp's default --flash-attn auto turns it on where the GPU supports it)"
            : "without flash attention: the attention scores of every head over the whole cache")
          + "; with layers or experts in RAM, the first GPU's buffer also holds a copy of the largest weight it multiplies for them (ops of 32 tokens or more run on the GPU)"
      )
    }
    let launch = request.profile.decodeLaunchSecondsPerLayer(computeCapabilities: graph.gpus.map(\.computeCapability))
    if launch > 0 {
      let old = graph.gpus.filter { ($0.computeCapability.flatMap { Double($0) } ?? 8) < 8 }.map { "GPU \($0.index)" }
      list.append(
        "\(request.engine.rawValue) replays no CUDA graphs before compute capability 8.0 (\(old.joined(separator: ", "))): each decode step launches every layer's kernels, \(Int((launch * 1e6).rounded())) µs a layer (fit to ggml-ci's V100 runs)"
      )
    }
    if request.engine == .llamaCpp, request.model.moe != nil {
      list.append(
        "MoE under llama.cpp at its measured speed: decode at \(Units.formatDecimal(CostModel.llamaCppMoE.decode, places: 2))× and prefill at \(Units.formatDecimal(CostModel.llamaCppMoE.prefill, places: 2))× of the bytes and FLOPs model (Qwen3-30B-A3B Q4_0 on an A10: 103.5 and 1328 tokens/s measured in llama.cpp issue 13652)"
      )
    }
    if let kernel = CostModel.kernelSpeed(engine: request.engine, weights: request.weights) {
      list.append("decode speed: \(kernel.source)")
    } else if case .converted(let format) = request.weights, [.nf4, .int8, .mxfp4].contains(format) {
      list.append(
        "decode speed of \(request.weights.label) under \(request.engine.rawValue): no public measurement known to shardplan; priced from its bytes, which its dequantizing kernels may not reach"
      )
    }
    if let fraction = request.profile.memoryFraction {
      list.append("\(request.engine.rawValue) uses \(Int((fraction * 100).rounded()))% of each GPU")
    }
    if request.profile.refusesContextBeyondLimit, !request.model.isEncoder {
      list.append(
        "\(request.engine.rawValue) starts only if its KV pool holds at least one sequence of the full context (\(request.context) tokens); the plan holds \(request.concurrency)"
      )
    }
    if graph.hosts.contains(where: { $0.ramBandwidthBytesPerSecond == nil }) {
      list.append(
        "a host of unknown RAM bandwidth reads offloaded weights at \(Units.formatDecimal(Double(CostModel.assumedRAMBandwidthBytesPerSecond) / 1e9, places: 1)) GB/s (dual-channel DDR4-3200)"
      )
    }
    return list
  }

  // MARK: - Ranking

  func better(_ a: PricedLayout, _ b: PricedLayout) -> Bool {
    if a.verdict != b.verdict { return a.verdict < b.verdict }
    if a.verdict == .doesNotFit {
      // Among layouts that do not fit, the closest to fitting first.
      if a.headroomBytes != b.headroomBytes { return a.headroomBytes > b.headroomBytes }
    }
    let pa = a.workload.prediction
    let pb = b.workload.prediction
    switch objective {
    case .throughput, .longestContext:
      if pa.throughput != pb.throughput { return pa.throughput > pb.throughput }
    case .latency:
      if pa.sequenceSpeed != pb.sequenceSpeed { return pa.sequenceSpeed > pb.sequenceSpeed }
    case .fewestGPUs:
      if a.gpuCount != b.gpuCount { return a.gpuCount < b.gpuCount }
      if pa.throughput != pb.throughput { return pa.throughput > pb.throughput }
    }
    return a.gpuCount < b.gpuCount
  }

  func describe(_ workload: WorkloadPlan) -> String { workload.layoutSummary }

  func whyNot(_ candidate: PricedLayout, versus best: PricedLayout) -> String {
    if candidate.verdict == .doesNotFit { return candidate.shortfall?.description ?? "does not fit" }
    if candidate.verdict > best.verdict { return "fits with less room than the chosen plan" }
    let mine = candidate.workload.prediction
    let theirs = best.workload.prediction
    switch objective {
    case .latency where mine.encodeTokensPerSecond != nil:
      return "slower per sequence: \(format(mine.sequenceSpeed)) vs \(format(theirs.sequenceSpeed)) sequences/s"
    case .latency:
      return
        "slower per sequence: \(format(mine.decodeTokensPerSecond)) vs \(format(theirs.decodeTokensPerSecond)) tokens/s"
    case .fewestGPUs where candidate.gpuCount > best.gpuCount:
      return "uses \(candidate.gpuCount) GPUs instead of \(best.gpuCount)"
    default:
      return
        "lower throughput: \(format(mine.throughput)) vs \(format(theirs.throughput)) tokens/s\(mine.encodeTokensPerSecond == nil ? "" : " encoded")"
    }
  }

  func format(_ value: Double) -> String { Units.formatDecimal(value, places: value < 100 ? 1 : 0) }

  // MARK: - Candidates

  /// Every placement the strategy allows, priced; `occupied` is what workloads
  /// placed earlier hold on each GPU (role split).
  func candidates(_ serving: Serving, occupied: Occupancy, strategy: Strategy? = nil) -> [PricedLayout] {
    guard serving.model.kvCacheIsKnown else { return [] }
    let strategy = strategy ?? self.strategy
    let request = serving.request
    var list: [PricedLayout] = []
    var fewestFitting: Int?
    let model = request.model
    let permitted = request.pinnedGPUs.map(Set.init)
    let hosts = graph.hosts.map { host in
      graph.gpus.filter { $0.host == host.index && (permitted?.contains($0.index) ?? true) }.map(\.index)
    }
    let maxPerHost = hosts.map(\.count).max() ?? 0
    let profile = serving.profile
    if strategy != .offload {
      var degrees: [Int] = []
      var t = 1
      while t <= maxPerHost {
        if model.attention.heads % t == 0 || model.attention.heads == 0 { degrees.append(t) }
        t *= 2
      }
      if strategy == .pipeline || !profile.splitsTensors { degrees = degrees.filter { $0 == 1 } }
      for degree in degrees {
        let groups = tensorGroups(hosts: hosts, size: degree, occupied: occupied)
        guard !groups.isEmpty else { continue }
        if model.moe != nil && (strategy == .auto || strategy == .expert) && profile.expertParallel {
          // Expert parallelism over the first d groups, d = 1 … all.
          for count in 1...groups.count where degree * count > 1 {
            if let priced = price(.experts(groups: Array(groups.prefix(count))), serving, occupied: occupied) {
              list.append(priced)
            }
          }
        }
        if strategy == .expert { continue }
        var depths = Array(1...min(groups.count, max(model.layers, 1)))
        if strategy == .tensor { depths = [1] }
        if strategy == .pipeline && degree != 1 { continue }
        for depth in depths {
          // Fewest GPUs: a layout needing more GPUs than one that already fits cannot win.
          if objective == .fewestGPUs, let fewest = fewestFitting, degree * depth > fewest { break }
          // Replicas on spare GPUs for throughput, never more than there are
          // sequences to give them: an idle replica adds no throughput.
          let replicas = max(
            objective == .throughput ? min(groups.count / depth, serving.request.concurrency) : 1,
            1
          )
          let stageGroups = Array(groups.prefix(depth))
          let others = (1..<replicas).map { Array(groups[($0 * depth)..<(($0 + 1) * depth)]) }
          if let candidate = layerCandidate(serving, stageGroups: stageGroups, replicas: others, occupied: occupied) {
            list.append(candidate)
            if candidate.verdict == .fits {
              fewestFitting = min(fewestFitting ?? Int.max, degree * depth)
            }
          }
        }
      }
    }
    // CPU offload is a plan where the engine's profile offers it by default, or
    // when asked for; for the other engines it is offered among the fixes.
    if strategy == .offload || (strategy == .auto && profile.plansOffload) {
      list.append(contentsOf: offloadCandidates(serving, occupied: occupied))
      list.append(contentsOf: expertOffloadCandidates(serving, occupied: occupied))
    }
    return list
  }

  /// A tensor × pipeline (× data) layout with the layers cut by the optimal
  /// contiguous partition of ``PipelinePartition``, or an even split (which does
  /// not fit, and says by how much) when none fits.
  func layerCandidate(
    _ serving: Serving,
    stageGroups: [[Int]],
    replicas: [[[Int]]] = [],
    occupied: Occupancy
  ) -> PricedLayout? {
    let layers = serving.model.layers
    let tp = stageGroups.first?.count ?? 1
    let perCopy = Self.sequencesPerCopy(serving.request.concurrency, copies: 1 + replicas.count)
    let (weights, kv) = perLayerBytes(serving, tensorParallel: tp, sequences: perCopy)
    let stages = pipelineStages(serving, stageGroups: stageGroups, occupied: occupied, sequences: perCopy)
    let ranges: [Range<Int>]
    if let solution = PipelinePartition.solve(layerBytes: zip(weights, kv).map { $0 + $1 }, stages: stages) {
      ranges = solution.ranges
    } else {
      guard layers >= stageGroups.count else { return nil }
      let count = stageGroups.count
      ranges = (0..<count).map { index in (index * layers / count)..<((index + 1) * layers / count) }
    }
    return price(.layers(stages: stageGroups, layers: ranges, replicas: replicas), serving, occupied: occupied)
  }

  /// Tensor-parallel groups of `size` GPUs, each inside one host, GPUs of the
  /// host's fast islands first so that groups sit on NVLink where they can; with
  /// memory already occupied (role split), the emptiest GPUs and groups first.
  func tensorGroups(hosts: [[Int]], size: Int, occupied: Occupancy) -> [[Int]] {
    let islands = graph.fastIslands()
    var groups: [[Int]] = []
    for gpus in hosts {
      var ordered: [Int] = []
      for island in islands where island.allSatisfy(gpus.contains) && island.count >= size {
        for gpu in island where !ordered.contains(gpu) { ordered.append(gpu) }
      }
      for gpu in gpus where !ordered.contains(gpu) { ordered.append(gpu) }
      if !occupied.isEmpty {
        ordered = ordered.enumerated().sorted { a, b in
          let usedA = occupied[a.element] ?? 0
          let usedB = occupied[b.element] ?? 0
          return usedA != usedB ? usedA < usedB : a.offset < b.offset
        }.map(\.element)
      }
      var index = 0
      while index + size <= ordered.count {
        groups.append(Array(ordered[index..<(index + size)]))
        index += size
      }
    }
    if !occupied.isEmpty {
      groups = groups.enumerated().sorted { a, b in
        let usedA = a.element.reduce(Int64(0)) { $0 + (occupied[$1] ?? 0) }
        let usedB = b.element.reduce(Int64(0)) { $0 + (occupied[$1] ?? 0) }
        return usedA != usedB ? usedA < usedB : a.offset < b.offset
      }.map(\.element)
    }
    return groups
  }

  /// One GPU plus CPU RAM: the largest GPU the request may use, with as many
  /// whole layers on it as fit (the output head first, as llama.cpp offloads it
  /// first); nothing when every layer fits (that is not an offload plan).
  func offloadCandidates(_ serving: Serving, occupied: Occupancy) -> [PricedLayout] {
    let permitted = serving.request.pinnedGPUs.map(Set.init)
    let gpus = graph.gpus.filter { permitted?.contains($0.index) ?? true }
    guard let gpu = gpus.max(by: { ($0.allocatableBytes ?? 0, -$0.index) < ($1.allocatableBytes ?? 0, -$1.index) })
    else {
      return []
    }
    let gpuLayers = mostGPULayers(serving, gpu: gpu, occupied: occupied)
    guard gpuLayers < serving.model.layers else { return [] }
    var list =
      price(.layerOffload(gpus: [gpu.index], gpuLayers: [gpuLayers]), serving, occupied: occupied).map { [$0] } ?? []
    // llama.cpp splits its GPU layers over several GPUs (--tensor-split) and runs
    // the rest on the CPU: every permitted GPU of the host, in index order.
    let group = gpus.filter { $0.host == gpu.host }.map(\.index)
    if group.count > 1, serving.profile.computesOffloadedLayersOnCPU {
      let split = mostGPULayers(serving, gpus: group, occupied: occupied)
      let used = zip(group, split).filter { $0.1 > 0 }
      if used.count > 1, split.reduce(0, +) < serving.model.layers,
        let layout = price(
          .layerOffload(gpus: used.map(\.0), gpuLayers: used.map(\.1)),
          serving,
          occupied: occupied
        )
      {
        list.append(layout)
      }
    }
    return list
  }

  /// Expert offload (llama.cpp `--n-cpu-moe N`) over every GPU the request may
  /// use: the smallest N that fits; nothing when everything fits on the GPUs.
  func expertOffloadCandidates(_ serving: Serving, occupied: Occupancy) -> [PricedLayout] {
    guard let moe = serving.model.moe, moe.routedExperts > 1, serving.profile.offloadsExperts else { return [] }
    let permitted = serving.request.pinnedGPUs.map(Set.init)
    let gpus = graph.gpus.filter { permitted?.contains($0.index) ?? true }.map(\.index)
    guard !gpus.isEmpty else { return [] }
    let count = fewestCPUExpertLayers(serving, gpus: gpus, occupied: occupied)
    guard count > 0 else { return [] }
    return price(.expertOffload(gpus: gpus, cpuExpertLayers: count), serving, occupied: occupied).map { [$0] } ?? []
  }

  /// The largest value in `range` for which `fits` holds, by bisection over a
  /// monotone predicate (true up to some value, false above it); the lower bound
  /// when nothing above it fits (the lower bound itself is never tested).
  static func largest(in range: ClosedRange<Int>, where fits: (Int) -> Bool) -> Int {
    var low = range.lowerBound
    var high = range.upperBound
    while low < high {
      let middle = low + (high - low + 1) / 2
      if fits(middle) { low = middle } else { high = middle - 1 }
    }
    return low
  }

}
