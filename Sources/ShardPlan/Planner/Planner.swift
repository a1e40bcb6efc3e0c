/// One model to serve.
public struct InferenceRequest: Hashable, Sendable {
  /// The model, already in the weight format wanted.
  public var model: ModelSpec
  public var weightFormat: String
  public var role: String
  public var context: Int
  /// Sequences served at once.
  public var concurrency: Int
  public var kvCache: KVCacheType
  public var engine: Engine
  /// GPUs this workload must use (global indices), or nil for any.
  public var pinnedGPUs: [Int]?
  /// Measured expert load: per MoE layer, tokens routed to each expert (EPLB's
  /// input). With it, expert-parallel plans place replicas of hot experts.
  public var expertLoad: [[Double]]?
  /// Extra expert slots for replicas of hot experts, over all GPUs of an
  /// expert-parallel group (rounded up to a multiple of the group size).
  public var redundantExperts: Int = 0
  /// The model's aggregates, filled in once by the planner.
  var cachedSummary: ModelSummary?
  /// The model's aggregates (computed now when not cached).
  var summary: ModelSummary { cachedSummary ?? ModelSummary(model) }

  public init(
    model: ModelSpec,
    weightFormat: String,
    role: String = "default",
    context: Int,
    concurrency: Int = 1,
    kvCache: KVCacheType = .bf16,
    engine: Engine = .vllm,
    pinnedGPUs: [Int]? = nil
  ) {
    self.model = model
    self.weightFormat = weightFormat
    self.role = role
    self.context = context
    self.concurrency = concurrency
    self.kvCache = kvCache
    self.engine = engine
    self.pinnedGPUs = pinnedGPUs
  }
}

/// Searches tensor- and pipeline-parallel layouts (and CPU offload) of one model
/// on a device graph, prices each with the memory model and the cost model, and
/// returns the best by the objective with ranked alternatives.
///
/// Deterministic: candidates are enumerated in a fixed order and ties are broken
/// by that order.
public struct Planner: Sendable {
  public var graph: DeviceGraph
  public var strategy: Strategy
  public var objective: Objective
  /// A plan whose tightest GPU keeps less than this fraction of its memory free is `tight`.
  public var tightFraction: Double
  /// Bytes already taken on GPUs by workloads placed earlier (role split).
  var occupied: [Int: Int64] = [:]
  /// GPUs the current workload may use; nil for all.
  var allowed: Set<Int>?

  public init(
    graph: DeviceGraph,
    strategy: Strategy = .auto,
    objective: Objective = .throughput,
    tightFraction: Double = 0.05
  ) {
    self.graph = graph
    self.strategy = strategy
    self.objective = objective
    self.tightFraction = tightFraction
  }

  /// A priced layout.
  struct Candidate {
    var workload: WorkloadPlan
    var devices: [DeviceBudget]
    var verdict: Verdict
    var cpuBytes: Int64
    var shortfall: String?
    var gpuCount: Int

    /// The workload as a plan reports it, with its memory on each GPU.
    var planned: WorkloadPlan {
      var copy = workload
      copy.cpuBytes = cpuBytes
      copy.gpuShares = devices.sorted { $0.index < $1.index }.map {
        GPUShare(gpu: $0.index, usedBytes: $0.usedBytes, weightBytes: $0.weightBytes, kvCacheBytes: $0.kvCacheBytes)
      }
      return copy
    }
  }

  /// Plans one model.
  /// - Complexity: O(T · G · S · L²) for T tensor-parallel degrees, G device groups,
  ///   S pipeline stages and L layers; milliseconds for 8-GPU nodes.
  public func plan(_ original: InferenceRequest) -> Plan {
    var request = original
    var candidates = self.candidates(request)
    var reasons: [String] = []
    if objective == .longestContext {
      // Bisect the context for each GPU layout; keep the layout that holds the most.
      var summarized = request
      summarized.cachedSummary = ModelSummary(request.model)
      var bestContext = 0
      var bestGroups: [[Int]]?
      for candidate in candidates
      where candidate.workload.cpuLayers == nil && candidate.workload.cpuExpertLayers == nil
        && candidate.workload.strategy != .expert
      {
        let groups = candidate.workload.stages.map(\.devices)
        let low = Self.largest(in: 0...max(request.model.maxContext, request.context)) { context in
          var probe = summarized
          probe.context = context
          return (evaluate(probe, stageGroups: groups)?.verdict ?? .doesNotFit) != .doesNotFit
        }
        if low > bestContext {
          bestContext = low
          bestGroups = groups
        }
      }
      if let bestGroups, bestContext > 0 {
        request.context = bestContext
        candidates = self.candidates(request)
        candidates.sort { a, b in
          let matchA = a.workload.stages.map(\.devices) == bestGroups
          let matchB = b.workload.stages.map(\.devices) == bestGroups
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
    var fixes: [String] = []
    guard let best = candidates.first else {
      return Plan(
        topology: graph.name,
        objective: objective,
        verdict: .doesNotFit,
        reasons: [
          "no layout is possible: \(graph.gpus.isEmpty ? "the topology has no GPU" : "no tensor-parallel degree divides \(request.model.attention.heads) attention heads on these GPUs")"
        ],
        fixes: [],
        workloads: [],
        devices: [],
        cpuBytes: 0,
        alternatives: [],
        assumptions: assumptions(request)
      )
    }
    switch best.verdict {
    case .fits:
      reasons.append(
        "\(describe(best.workload)) fits; tightest GPU keeps \(Units.formatBytes(best.devices.map(\.freeBytes).min() ?? 0)) free"
      )
    case .tight:
      reasons.append(
        "\(describe(best.workload)) fits with under \(Int(tightFraction * 100))% of a GPU free: \(Units.formatBytes(best.devices.map(\.freeBytes).min() ?? 0)) on the tightest"
      )
    case .doesNotFit:
      reasons.append(
        "no layout fits: the closest, \(describe(best.workload)), \(best.shortfall ?? "is short of memory")"
      )
      fixes = self.fixes(request)
      // More cards of the same kind: what the closest layout needs in all, over one card's budget.
      if let card = best.devices.first, card.usableBytes > 0 {
        let needed = best.devices.reduce(Int64(0)) { $0 + $1.usedBytes }
        let cards = Int((needed + card.usableBytes - 1) / card.usableBytes)
        let have = graph.gpus.count
        if cards > have {
          fixes.append("use at least \(cards) GPUs like GPU\(card.index) (\(card.name)) instead of \(have)")
        }
      }
    }
    let alternatives = candidates.dropFirst().prefix(5).map { candidate in
      Alternative(
        summary: describe(candidate.workload),
        verdict: candidate.verdict,
        aggregateDecodeTokensPerSecond: candidate.workload.prediction.aggregateDecodeTokensPerSecond,
        whyNot: whyNot(candidate, versus: best)
      )
    }
    // Budgets for every GPU of the graph, idle ones included.
    let devices = best.devices.includingIdleGPUs(of: graph)
    return Plan(
      topology: graph.name,
      objective: objective,
      verdict: best.verdict,
      reasons: reasons,
      fixes: fixes,
      workloads: [best.planned],
      devices: devices,
      cpuBytes: best.cpuBytes,
      alternatives: Array(alternatives),
      assumptions: assumptions(request)
    )
  }

  func assumptions(_ request: InferenceRequest) -> [String] {
    var list = [
      "decode reads every weight and the KV cache once per step at \(Int(CostModel.memoryEfficiency * 100))% of HBM bandwidth (aiconfigurator)",
      "prefill GEMMs at \(Int(CostModel.computeEfficiency * 100))% of dense bf16 peak (assumed)",
      "\(Int(CostModel.collectiveLatencySeconds * 1e6)) µs per collective and hand-off (aiconfigurator p2p_latency)",
    ]
    if let fraction = EngineProfile.profile(request.engine).memoryFraction {
      list.append("\(request.engine.rawValue) uses \(Int(fraction * 100))% of each GPU")
    }
    return list
  }

  // MARK: - Ranking

  func better(_ a: Candidate, _ b: Candidate) -> Bool {
    if a.verdict != b.verdict { return a.verdict < b.verdict }
    if a.verdict == .doesNotFit {
      // Among layouts that do not fit, the closest to fitting first.
      let shortA = a.devices.map(\.freeBytes).min() ?? 0
      let shortB = b.devices.map(\.freeBytes).min() ?? 0
      if shortA != shortB { return shortA > shortB }
    }
    let pa = a.workload.prediction
    let pb = b.workload.prediction
    switch objective {
    case .throughput, .longestContext:
      if pa.aggregateDecodeTokensPerSecond != pb.aggregateDecodeTokensPerSecond {
        return pa.aggregateDecodeTokensPerSecond > pb.aggregateDecodeTokensPerSecond
      }
    case .latency:
      if pa.decodeTokensPerSecond != pb.decodeTokensPerSecond {
        return pa.decodeTokensPerSecond > pb.decodeTokensPerSecond
      }
    case .fewestGPUs:
      if a.gpuCount != b.gpuCount { return a.gpuCount < b.gpuCount }
      if pa.aggregateDecodeTokensPerSecond != pb.aggregateDecodeTokensPerSecond {
        return pa.aggregateDecodeTokensPerSecond > pb.aggregateDecodeTokensPerSecond
      }
    }
    return a.gpuCount < b.gpuCount
  }

  func describe(_ workload: WorkloadPlan) -> String { workload.layoutSummary }

  func whyNot(_ candidate: Candidate, versus best: Candidate) -> String {
    if candidate.verdict == .doesNotFit { return candidate.shortfall ?? "does not fit" }
    if candidate.verdict > best.verdict {
      return candidate.verdict == .doesNotFit
        ? (candidate.shortfall ?? "does not fit") : "fits with less room than the chosen plan"
    }
    let mine = candidate.workload.prediction
    let theirs = best.workload.prediction
    switch objective {
    case .latency:
      return
        "slower per sequence: \(format(mine.decodeTokensPerSecond)) vs \(format(theirs.decodeTokensPerSecond)) tokens/s"
    case .fewestGPUs where candidate.gpuCount > best.gpuCount:
      return "uses \(candidate.gpuCount) GPUs instead of \(best.gpuCount)"
    default:
      return
        "lower throughput: \(format(mine.aggregateDecodeTokensPerSecond)) vs \(format(theirs.aggregateDecodeTokensPerSecond)) tokens/s"
    }
  }

  func format(_ value: Double) -> String { Units.formatDecimal(value, places: value < 100 ? 1 : 0) }

  // MARK: - Candidates

  func candidates(_ original: InferenceRequest) -> [Candidate] {
    var request = original
    if request.cachedSummary == nil { request.cachedSummary = ModelSummary(request.model) }
    var list: [Candidate] = []
    var fewestFitting: Int?
    let model = request.model
    let permitted = request.pinnedGPUs.map(Set.init) ?? allowed
    let hosts = graph.hosts.map { host in
      graph.gpus.filter { $0.host == host.index && (permitted?.contains($0.index) ?? true) }.map(\.index)
    }
    let maxPerHost = hosts.map(\.count).max() ?? 0
    if strategy != .offload {
      var degrees: [Int] = []
      var t = 1
      while t <= maxPerHost {
        if model.attention.heads % t == 0 || model.attention.heads == 0 { degrees.append(t) }
        t *= 2
      }
      if strategy == .pipeline || !request.engine.splitsTensors { degrees = degrees.filter { $0 == 1 } }
      for degree in degrees {
        let groups = tensorGroups(hosts: hosts, size: degree)
        guard !groups.isEmpty else { continue }
        // Expert parallelism is a vLLM and SGLang feature; llama.cpp and transformers
        // keep every expert of a layer together.
        if model.moe != nil && (strategy == .auto || strategy == .expert) && request.engine.splitsTensors {
          // Expert parallelism over the first d groups, d = 1 … all.
          for count in 1...groups.count where degree * count > 1 {
            list.append(contentsOf: expertCandidates(request, groups: Array(groups.prefix(count))))
          }
        }
        if strategy == .expert { continue }
        var depths = Array(1...min(groups.count, max(model.layers, 1)))
        if strategy == .tensor { depths = [1] }
        if strategy == .pipeline && degree != 1 { continue }
        for depth in depths {
          // Fewest GPUs: a layout needing more GPUs than one that already fits cannot win.
          if objective == .fewestGPUs, let fewest = fewestFitting, degree * depth > fewest { break }
          let replicas = max(objective == .throughput ? groups.count / depth : 1, 1)
          let stageGroups = Array(groups.prefix(depth))
          let others = (1..<replicas).map { Array(groups[($0 * depth)..<(($0 + 1) * depth)]) }
          if let candidate = evaluate(request, stageGroups: stageGroups, otherReplicas: others) {
            list.append(candidate)
            if candidate.verdict == .fits {
              fewestFitting = min(fewestFitting ?? Int.max, degree * depth)
            }
          }
        }
      }
    }
    // CPU offload is a plan for llama.cpp (which runs layers from RAM) or when asked
    // for; for the other engines it is offered among the fixes.
    if strategy == .offload || (strategy == .auto && (request.engine == .llamaCpp || request.engine == .transformers)) {
      list.append(contentsOf: offloadCandidates(request))
      list.append(contentsOf: expertOffloadCandidates(request))
    }
    return list
  }

  /// Tensor-parallel groups of `size` GPUs, each inside one host, GPUs of the
  /// host's fast islands first so that groups sit on NVLink where they can.
  func tensorGroups(hosts: [[Int]], size: Int) -> [[Int]] {
    let islands = graph.fastIslands()
    var groups: [[Int]] = []
    for gpus in hosts {
      var ordered: [Int] = []
      for island in islands where island.allSatisfy(gpus.contains) && island.count >= size {
        for gpu in island where !ordered.contains(gpu) { ordered.append(gpu) }
      }
      for gpu in gpus where !ordered.contains(gpu) { ordered.append(gpu) }
      if !occupied.isEmpty {
        // Role split: the emptiest GPUs first, so later roles do not pile onto earlier ones.
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
      // Across hosts too: the emptiest groups first.
      groups = groups.enumerated().sorted { a, b in
        let usedA = a.element.reduce(Int64(0)) { $0 + (occupied[$1] ?? 0) }
        let usedB = b.element.reduce(Int64(0)) { $0 + (occupied[$1] ?? 0) }
        return usedA != usedB ? usedA < usedB : a.offset < b.offset
      }.map(\.element)
    }
    return groups
  }

  /// Per-GPU memory the engine may use: its memory fraction of the card minus
  /// what other processes hold.
  func usableBytes(_ gpu: GPU, engine: Engine) -> Int64 {
    let fraction = EngineProfile.profile(engine).memoryFraction ?? 1.0
    let capacity = gpu.memoryBytes ?? 0
    return Int64(Double(capacity) * fraction) - (gpu.memoryUsedBytes ?? 0) - (occupied[gpu.index] ?? 0)
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

  /// One workload's budget on a GPU: what it uses of `usable`, and the verdict of
  /// what is left (`tight` under `tightFraction` of the card free).
  func budget(
    _ gpu: GPU,
    usable: Int64,
    weights: Int64,
    kv: Int64,
    activation: Int64,
    overhead: Int64,
    gradients: Int64 = 0,
    optimizer: Int64 = 0,
    other: Int64? = nil
  ) -> DeviceBudget {
    let capacity = gpu.memoryBytes ?? 0
    let used = weights + kv + activation + overhead + gradients + optimizer
    let free = usable - used
    return DeviceBudget(
      index: gpu.index,
      name: gpu.name,
      capacityBytes: capacity,
      usableBytes: usable,
      usedBytes: used,
      weightBytes: weights,
      kvCacheBytes: kv,
      activationBytes: activation,
      overheadBytes: overhead,
      otherBytes: other ?? gpu.memoryUsedBytes ?? 0,
      freeBytes: free,
      verdict: free < 0 ? .doesNotFit : (Double(free) < tightFraction * Double(capacity) ? .tight : .fits),
      gradientBytes: gradients,
      optimizerBytes: optimizer
    )
  }

  /// Layer bytes that go on each rank for weights and the KV cache.
  func perLayerBytes(_ request: InferenceRequest, tensorParallel: Int) -> (weights: [Int64], kv: [Int64]) {
    let model = request.model
    let profile = EngineProfile.profile(request.engine)
    let kvModel = KVCacheModel(attention: model.attention, type: request.kvCache)
    let block = Int64(max(profile.kvBlockSize, 1))
    let weights = request.summary.layerBytes.map { ($0 + Int64(tensorParallel) - 1) / Int64(tensorParallel) }
    let kv = model.attention.layers.prefix(model.layers).map { layer -> Int64 in
      var tokens = Int64(request.context)
      if case .sliding(let window) = layer { tokens = min(tokens, Int64(window)) }
      tokens = (tokens + block - 1) / block * block
      return tokens * kvModel.bytesPerToken(layer, tensorParallel: tensorParallel) * Int64(request.concurrency)
    }
    let paddedKV =
      kv.count == weights.count ? Array(kv) : Array(kv) + [Int64](repeating: 0, count: max(0, weights.count - kv.count))
    return (weights, paddedKV)
  }

  /// Prices one layout: `stageGroups` are replica 0's tensor-parallel groups in
  /// stage order, `otherReplicas` the same shape for each further data-parallel
  /// replica (every GPU of every replica gets a budget).
  func evaluate(
    _ request: InferenceRequest,
    stageGroups: [[Int]],
    otherReplicas: [[[Int]]] = [],
    fixedRanges: [Range<Int>]? = nil
  ) -> Candidate? {
    let replicas = 1 + otherReplicas.count
    let model = request.model
    let tp = stageGroups.first?.count ?? 1
    let profile = EngineProfile.profile(request.engine)
    let (layerWeights, layerKV) = perLayerBytes(request, tensorParallel: tp)
    let layerTotal = zip(layerWeights, layerKV).map { $0 + $1 }
    let activation = profile.activationBytes(
      model: model,
      context: request.context,
      batch: request.concurrency,
      tensorParallel: tp
    )
    let overhead = profile.runtimeBytes + profile.cudaGraphBytes + EngineProfile.ncclBytes(groupSize: tp)
    let summary = request.summary
    let embedding = (summary.firstStageBytes + Int64(tp) - 1) / Int64(tp)
    let head = (summary.lastStageBytes + Int64(tp) - 1) / Int64(tp)
    var stages: [PipelinePartition.Stage] = []
    for group in stageGroups {
      let gpus = group.map { graph.gpus[$0] }
      let capacity = gpus.map { usableBytes($0, engine: request.engine) }.min() ?? 0
      let bandwidth = gpus.compactMap(\.memoryBandwidthBytesPerSecond).min() ?? 1_000_000_000_000
      stages.append(
        .init(
          capacityBytes: capacity - activation - overhead,
          secondsPerByte: 1 / (Double(bandwidth) * CostModel.memoryEfficiency),
          firstStageExtraBytes: embedding,
          lastStageExtraBytes: head
        )
      )
    }
    var ranges: [Range<Int>]
    var verdict = Verdict.fits
    var shortfall: String?
    if let fixedRanges {
      // A layout written by hand: price its ranges as given.
      ranges = fixedRanges
    } else if let solution = PipelinePartition.solve(layerBytes: layerTotal, stages: stages) {
      ranges = solution.ranges
    } else {
      // Nothing fits: show an even split so the budgets say by how much.
      guard model.layers >= stageGroups.count else { return nil }
      ranges = evenSplit(layers: model.layers, stages: stageGroups.count)
      verdict = .doesNotFit
    }
    // Budgets.
    var devices: [DeviceBudget] = []
    for (stageIndex, group) in ([stageGroups] + otherReplicas).flatMap({ $0.enumerated() }) {
      let range = ranges[stageIndex]
      var weights = layerWeights[range].reduce(0, +)
      if stageIndex == 0 { weights += embedding }
      if stageIndex == stageGroups.count - 1 { weights += head }
      let kv = layerKV[range].reduce(0, +)
      for index in group {
        let gpu = graph.gpus[index]
        devices.append(
          budget(
            gpu,
            usable: usableBytes(gpu, engine: request.engine),
            weights: weights,
            kv: kv,
            activation: activation,
            overhead: overhead
          )
        )
      }
    }
    verdict = max(verdict, devices.map(\.verdict).max() ?? .fits)
    if verdict == .doesNotFit, let worst = devices.min(by: { $0.freeBytes < $1.freeBytes }) {
      shortfall = "GPU\(worst.index) is short by \(Units.formatBytes(-worst.freeBytes))"
    }
    let prediction = predict(
      request,
      stageGroups: stageGroups,
      ranges: ranges,
      layerWeights: layerWeights,
      layerKV: layerKV,
      embedding: embedding,
      head: head,
      replicas: replicas
    )
    var workload = WorkloadPlan(
      role: request.role,
      model: model.name,
      weightFormat: request.weightFormat,
      strategy: stageGroups.count > 1 ? (tp > 1 ? .auto : .pipeline) : (tp > 1 ? .tensor : .auto),
      tensorParallel: tp,
      pipelineParallel: stageGroups.count,
      expertParallel: 1,
      dataParallel: replicas,
      stages: zip(stageGroups, ranges).map {
        Stage(devices: $0, firstLayer: $1.lowerBound, lastLayer: $1.upperBound - 1)
      },
      replicaDevices: [stageGroups.flatMap { $0 }] + otherReplicas.map { $0.flatMap { $0 } },
      gpuLayers: nil,
      cpuLayers: nil,
      cpuExpertLayers: nil,
      context: request.context,
      concurrency: request.concurrency,
      kvCacheType: request.kvCache.rawValue,
      engine: request.engine.rawValue,
      prediction: prediction
    )
    if request.engine == .vllm {
      workload.vllmLayerPartition = VLLMPartition.environmentValue(for: workload.stages, layers: model.layers)
    }
    return Candidate(
      workload: workload,
      devices: devices,
      verdict: verdict,
      cpuBytes: 0,
      shortfall: shortfall,
      gpuCount: stageGroups.count * tp * replicas
    )
  }

  func evenSplit(layers: Int, stages: Int) -> [Range<Int>] {
    (0..<stages).map { index in (index * layers / stages)..<((index + 1) * layers / stages) }
  }

  /// Roofline prediction for a layout (``CostModel``).
  func predict(
    _ request: InferenceRequest,
    stageGroups: [[Int]],
    ranges: [Range<Int>],
    layerWeights: [Int64],
    layerKV: [Int64],
    embedding: Int64,
    head: Int64,
    replicas: Int
  ) -> Prediction {
    let model = request.model
    let tp = stageGroups.first?.count ?? 1
    let batch = Int64(max(request.concurrency, 1))
    let hidden = Int64(model.hiddenSize)
    var decode = 0.0
    var prefill = 0.0
    var bound = "HBM bandwidth"
    var communication = 0.0
    let flopsPerToken = request.summary.flopsPerToken
    let attentionWidth = Int64(model.attention.heads * max(model.attention.keyHeadDim, 1))
    for (index, group) in stageGroups.enumerated() {
      let gpus = group.map { graph.gpus[$0] }
      let bandwidth = gpus.compactMap(\.memoryBandwidthBytesPerSecond).min() ?? 1_000_000_000_000
      let tflops = gpus.compactMap(\.bf16TFLOPS).min() ?? 100
      let link = graph.slowestLinkBandwidth(among: group) ?? Int64.max
      let layers = ranges[index].count
      var bytes = layerWeights[ranges[index]].reduce(0, +) + layerKV[ranges[index]].reduce(0, +)
      if index == 0 { bytes += embedding }
      if index == stageGroups.count - 1 { bytes += head }
      let allReduce = CostModel.allReduceSeconds(bytes: batch * hidden * 2, size: tp, linkBandwidth: link)
      let stageComm = Double(2 * layers) * allReduce
      decode +=
        CostModel.readSeconds(bytes: bytes, bandwidth: bandwidth) + Double(layers) * CostModel.layerLatencySeconds
        + stageComm
      communication += stageComm
      // Prefill of one prompt of the context: 2 FLOPs per active matrix parameter per token,
      // plus causal attention (scores and values: 2 × 2 × context/2 × width per layer per token).
      let share = Double(layers) / Double(max(model.layers, 1))
      let tokens = Double(request.context)
      let flops =
        tokens * (Double(flopsPerToken) * share + 2 * tokens * Double(attentionWidth) * Double(layers))
      prefill +=
        CostModel.computeSeconds(flops: flops / Double(tp), tflops: tflops)
        + Double(2 * layers)
        * CostModel.allReduceSeconds(bytes: Int64(tokens) * hidden * 2, size: tp, linkBandwidth: link)
      if index > 0 {
        let previous = stageGroups[index - 1]
        let handoff = graph.link(previous[0], group[0])?.bandwidthBytesPerSecond ?? Int64.max
        decode += CostModel.transferSeconds(bytes: batch * hidden * 2, linkBandwidth: handoff)
        prefill += CostModel.transferSeconds(bytes: Int64(tokens) * hidden * 2, linkBandwidth: handoff)
      }
    }
    if communication > decode / 2 { bound = "tensor-parallel all-reduce" }
    let perSequence = decode > 0 ? 1 / decode : 0
    return Prediction(
      prefillTokensPerSecond: prefill > 0 ? Double(request.context) / prefill : 0,
      decodeTokensPerSecond: perSequence,
      aggregateDecodeTokensPerSecond: perSequence * Double(batch) * Double(replicas),
      timeToFirstTokenSeconds: prefill,
      decodeBound: bound
    )
  }

  // MARK: - CPU offload

  /// One GPU plus CPU RAM, llama.cpp style: as many whole layers on the GPU as fit
  /// (the output head first, as llama.cpp offloads it first), the rest read from
  /// RAM at the host's RAM bandwidth.
  func offloadCandidates(_ request: InferenceRequest) -> [Candidate] {
    guard let gpu = graph.gpus.max(by: { ($0.memoryBytes ?? 0, -$0.index) < ($1.memoryBytes ?? 0, -$1.index) }) else {
      return []
    }
    let host = graph.hosts[gpu.host]
    let model = request.model
    // llama.cpp computes the CPU layers on the CPU. transformers (accelerate's
    // device_map "cpu"), vLLM and SGLang (`--cpu-offload-gb`) keep weights in CPU RAM
    // and copy them to the GPU for every forward pass.
    let engine = request.engine
    var offloadRequest = request
    offloadRequest.engine = engine
    let profile = EngineProfile.profile(engine)
    let (weights, kv) = perLayerBytes(offloadRequest, tensorParallel: 1)
    let head = request.summary.headBytes
    let embedding = request.summary.embeddingBytes
    let activation = profile.activationBytes(
      model: model,
      context: request.context,
      batch: request.concurrency,
      tensorParallel: 1
    )
    let overhead = profile.runtimeBytes
    let usable = usableBytes(gpu, engine: engine)
    // Under accelerate an offloaded module still runs on the GPU: its KV cache and
    // the input embedding (copied on every pass otherwise) stay there.
    let streams = engine != .llamaCpp
    var budget = usable - activation - overhead - head - (streams ? kv.reduce(0, +) + embedding : 0)
    var gpuLayers = 0
    // llama.cpp offloads the last layers first (i_gpu_start = n_layer − n_gpu_layers).
    var index = model.layers - 1
    while index >= 0, budget >= weights[index] + (streams ? 0 : kv[index]) {
      budget -= weights[index] + (streams ? 0 : kv[index])
      gpuLayers += 1
      index -= 1
    }
    guard gpuLayers < model.layers else { return [] }  // everything fits: not an offload plan
    let cpuLayers = model.layers - gpuLayers
    let cpuBytes =
      weights[0..<cpuLayers].reduce(0, +) + (streams ? 0 : kv[0..<cpuLayers].reduce(0, +) + embedding)
    let gpuBytes = usable - budget
    let ram = host.ramBytes ?? 0
    var verdict: Verdict = budget < 0 ? .doesNotFit : .fits
    var shortfall: String?
    if ram > 0 && cpuBytes > ram {
      verdict = .doesNotFit
      shortfall = "needs \(Units.formatBytes(cpuBytes)) of CPU RAM, the host has \(Units.formatBytes(ram))"
    }
    if gpuLayers == 0 && budget < 0 {
      verdict = .doesNotFit
      shortfall = "not even the output head and buffers fit on GPU\(gpu.index)"
    }
    let ramBandwidth = host.ramBandwidthBytesPerSecond ?? 50_000_000_000
    let gpuRead = CostModel.readSeconds(
      bytes: gpuBytes - activation - overhead,
      bandwidth: gpu.memoryBandwidthBytesPerSecond ?? 1
    )
    // llama.cpp runs the CPU layers on the CPU, reading them from RAM; accelerate
    // copies each offloaded module to the GPU for every forward pass.
    let pcie = gpu.pcieGeneration.flatMap { PCIeRates.bytesPerSecond(generation: $0, lanes: gpu.pcieWidth ?? 16) }
    let streamRate =
      streams
      ? min(Double(pcie ?? 16_000_000_000), Double(ramBandwidth) * CostModel.ramEfficiency)
      : Double(ramBandwidth) * CostModel.ramEfficiency
    let cpuRead = Double(cpuBytes - (streams ? 0 : embedding)) / streamRate
    let decode = gpuRead + cpuRead + Double(model.layers) * CostModel.layerLatencySeconds
    let perSequence = decode > 0 ? 1 / decode : 0
    let flopsPerToken = request.summary.flopsPerToken
    let prefillSeconds =
      CostModel.computeSeconds(
        flops: Double(request.context) * Double(flopsPerToken),
        tflops: gpu.bf16TFLOPS ?? 50
      ) + cpuRead
    let device = DeviceBudget(
      index: gpu.index,
      name: gpu.name,
      capacityBytes: gpu.memoryBytes ?? 0,
      usableBytes: usable,
      usedBytes: gpuBytes,
      weightBytes: weights[cpuLayers...].reduce(0, +) + head + (streams ? embedding : 0),
      kvCacheBytes: streams ? kv.reduce(0, +) : kv[cpuLayers...].reduce(0, +),
      activationBytes: activation,
      overheadBytes: overhead,
      otherBytes: gpu.memoryUsedBytes ?? 0,
      freeBytes: usable - gpuBytes,
      verdict: verdict == .doesNotFit && gpuLayers == 0 ? .doesNotFit : .fits
    )
    let workload = WorkloadPlan(
      role: request.role,
      model: model.name,
      weightFormat: request.weightFormat,
      strategy: .offload,
      tensorParallel: 1,
      pipelineParallel: 1,
      expertParallel: 1,
      dataParallel: 1,
      stages: [Stage(devices: [gpu.index], firstLayer: cpuLayers, lastLayer: model.layers - 1)],
      replicaDevices: [[gpu.index]],
      gpuLayers: gpuLayers,
      cpuLayers: cpuLayers,
      cpuExpertLayers: nil,
      context: request.context,
      concurrency: request.concurrency,
      kvCacheType: request.kvCache.rawValue,
      engine: engine.rawValue,
      prediction: Prediction(
        prefillTokensPerSecond: prefillSeconds > 0 ? Double(request.context) / prefillSeconds : 0,
        decodeTokensPerSecond: perSequence,
        aggregateDecodeTokensPerSecond: perSequence * Double(request.concurrency),
        timeToFirstTokenSeconds: prefillSeconds,
        decodeBound: streams ? "host-to-GPU copies of offloaded weights" : "CPU RAM bandwidth"
      )
    )
    // An offload plan ranks below any GPU-only plan that fits (it is slower), so
    // call it tight: it works, with the speed cost stated.
    let finalVerdict: Verdict = verdict == .fits ? .tight : verdict
    return [
      Candidate(
        workload: workload,
        devices: [device],
        verdict: finalVerdict,
        cpuBytes: cpuBytes,
        shortfall: shortfall,
        gpuCount: 1
      )
    ]
  }

  // MARK: - Fixes

  /// The smallest changes that make the request fit, each checked by planning again.
  func fixes(_ request: InferenceRequest) -> [String] {
    var found: [String] = []
    func fits(_ changed: InferenceRequest) -> Bool {
      var planner = self
      planner.strategy = strategy == .offload ? .offload : .tensor
      let candidates = planner.candidates(changed).filter { $0.verdict != .doesNotFit && $0.workload.cpuLayers == nil }
      return !candidates.isEmpty
    }
    if request.kvCache != .fp8 && request.kvCache != .q4_0 && request.kvCache != .q8_0 {
      var changed = request
      changed.kvCache = request.engine == .llamaCpp ? .q8_0 : .fp8
      if fits(changed) {
        found.append("store the KV cache in \(changed.kvCache.rawValue) (--kv-dtype \(changed.kvCache.rawValue))")
      }
    }
    if request.model.tensorSource != "gguf" && request.model.quantization == nil
      || request.weightFormat.hasPrefix("bf16")
      || request.weightFormat.hasPrefix("f16") || request.weightFormat.hasPrefix("f32")
    {
      for (format, flag) in [(WeightFormat.fp8, "--quant fp8"), (.int4, "--quant int4")] {
        var changed = request
        changed.model = request.model.converted(to: format)
        changed.cachedSummary = nil
        changed.weightFormat = format.label
        if fits(changed) {
          found.append("quantize the weights to \(format.label) (\(flag))")
          break
        }
      }
    }
    // Longest context that fits, by bisection.
    let low = Self.largest(in: 0...request.context) { context in
      var changed = request
      changed.context = context
      return fits(changed)
    }
    if low >= 512 { found.append("shorten the context to \(low) tokens (--context \(low))") }
    if request.concurrency > 1 {
      let lowSeq = Self.largest(in: 0...request.concurrency) { sequences in
        var changed = request
        changed.concurrency = sequences
        return fits(changed)
      }
      if lowSeq >= 1 {
        found.append("serve \(lowSeq) sequences at once instead of \(request.concurrency) (--concurrency \(lowSeq))")
      }
    }
    var onLlamaCpp = request
    onLlamaCpp.engine = .llamaCpp
    if request.engine != .llamaCpp, onLlamaCpp.kvCache == .bf16 { onLlamaCpp.kvCache = .f16 }
    if let offload = offloadCandidates(onLlamaCpp).first, offload.verdict != .doesNotFit,
      let cpu = offload.workload.cpuLayers
    {
      found.append(
        "offload \(cpu) of \(request.model.layers) layers to CPU RAM with llama.cpp (-ngl \(offload.workload.llamaCppGPULayerSlots ?? 1)), at about \(format(offload.workload.prediction.decodeTokensPerSecond)) tokens/s"
      )
    }
    if found.isEmpty { found.append("add GPUs: no single change above makes it fit") }
    return found
  }
}
