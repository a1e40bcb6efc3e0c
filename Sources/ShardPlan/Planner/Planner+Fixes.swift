extension Planner {
  /// The smallest changes that make the request fit beside what `occupied` holds,
  /// each checked by applying it and planning again.
  func fixes(_ serving: Serving, occupied: Occupancy = [:]) -> [Fix] {
    let request = serving.request
    var found: [Fix] = []
    /// The fastest GPU-only layout that fits with `fix` applied, if any.
    func bestFit(_ fix: Fix, strategy search: Strategy? = nil) -> PricedLayout? {
      guard let changed = fix.apply(to: request) else { return nil }
      // Only a change of weights (or of engine) changes the model's aggregates.
      let priced: Serving
      switch fix.change {
      case .weights, .offloadLayers: priced = Serving(changed)
      default: priced = serving.with { $0 = changed }
      }
      return candidates(priced, occupied: occupied, strategy: search ?? (strategy == .offload ? .offload : .tensor))
        .filter { $0.verdict != .doesNotFit && $0.workload.cpuLayers == nil }
        .max { $0.workload.prediction.throughput < $1.workload.prediction.throughput }
    }
    /// Whether the request with `fix` applied has a GPU-only layout that fits.
    func fits(_ fix: Fix) -> Bool { bestFit(fix) != nil }
    // The engine's own memory knob, up to the safe highest fraction of the
    // smallest card: the smallest raise, in hundredths, that fits.
    if let current = serving.profile.memoryFraction {
      let smallest = graph.gpus.compactMap(\.allocatableBytes).min() ?? 0
      let highest = serving.profile.safeMemoryFraction(capacity: smallest)
      // In whole hundredths, so that 0.95 − 0.90 is 5 steps and not 4.999….
      let steps = Int((highest * 100).rounded()) - Int((current * 100).rounded())
      if steps >= 1 {
        let fraction = { (step: Int) in Double(Int((current * 100).rounded()) + step) / 100 }
        if fits(Fix(.memoryFraction(fraction(steps)), summary: "")) {
          let step = Self.largest(in: 0...steps) { !fits(Fix(.memoryFraction(fraction($0)), summary: "")) } + 1
          let value = fraction(min(step, steps))
          found.append(
            Fix(
              .memoryFraction(value),
              summary:
                "let \(request.engine.rawValue) take \(Int((value * 100).rounded()))% of each GPU instead of \(Int((current * 100).rounded()))% (at most \(Int((highest * 100).rounded()))%: the CUDA context\(serving.profile.runtimeOutsideBudget ? " and graphs need" : " needs") the rest)"
            )
          )
        }
      }
    }
    let compact = serving.profile.compactKVCache
    if ![KVCacheType.fp8, .q4_0, .q8_0].contains(request.kvCache) {
      let fix = Fix(.kvCache(compact), summary: "store the KV cache in \(compact.rawValue)")
      if fits(fix) { found.append(fix) }
    }
    let floatWeights: Bool
    switch request.weights {
    case .converted(.float): floatWeights = true
    case .converted: floatWeights = false
    case .stored:
      // A quantized checkpoint converts from the model its config describes.
      floatWeights =
        !request.model.tensorSource.isGGUF
        && (request.model.quantization == nil || request.model.quantizedConfig != nil)
    }
    if floatWeights {
      for format in [WeightFormat.fp8, .int4] {
        let fix = Fix(.weights(format), summary: "quantize the weights to \(format.label)")
        if fits(fix) {
          found.append(fix)
          break
        }
      }
    }
    // Longest context that fits, by bisection.
    let low = Self.largest(in: 0...request.context) { fits(Fix(.context($0), summary: "")) }
    if low >= 512 { found.append(Fix(.context(low), summary: "shorten the context to \(low) tokens")) }
    if request.concurrency > 1 {
      let sequences = Self.largest(in: 0...request.concurrency) { fits(Fix(.concurrency($0), summary: "")) }
      if sequences >= 1 {
        found.append(
          Fix(
            .concurrency(sequences),
            summary: "serve \(sequences) sequences at once instead of \(request.concurrency)"
          )
        )
      }
    }
    // Another engine on the same GPUs (llama.cpp keeps no CUDA graphs and a smaller
    // runtime), before any offload: whole on the GPUs is faster than any offload.
    if let engine = Engine.allCases.first(where: { EngineProfile.profile($0).offloadsExperts }),
      engine != request.engine
    {
      let fix = Fix(.offloadLayers(engine: engine, cpuLayers: 0), summary: "")
      // llama.cpp splits whole layers: its layouts are pipelines, not tensor groups.
      if let fitted = bestFit(fix, strategy: .pipeline) {
        found.append(
          Fix(
            fix.change,
            summary:
              "serve with \(engine.rawValue) on the same GPUs (\(describe(fitted.workload)), no layer in CPU RAM)"
          )
        )
      }
    }
    // Layers in CPU RAM with the engine that runs them there (llama.cpp).
    if let engine = Engine.allCases.first(where: { EngineProfile.profile($0).offloadsExperts }),
      let changed = Fix(.offloadLayers(engine: engine, cpuLayers: 0), summary: "").apply(to: request),
      let offload = bestOffload(serving.with { $0 = changed }, occupied: occupied),
      let cpu = offload.workload.cpuLayers
    {
      found.append(
        Fix(
          .offloadLayers(engine: engine, cpuLayers: cpu),
          summary:
            "offload \(cpu) of \(request.model.layers) layers to CPU RAM with \(engine.rawValue), at about \(format(offload.workload.prediction.decodeTokensPerSecond)) tokens/s"
        )
      )
    }
    // Routed experts in CPU RAM, the rest on the GPUs (llama.cpp --n-cpu-moe): for
    // an MoE model usually faster than whole layers in RAM.
    if let engine = Engine.allCases.first(where: { EngineProfile.profile($0).offloadsExperts }),
      let changed = Fix(.offloadExperts(engine: engine, cpuExpertLayers: 0), summary: "").apply(to: request),
      let offload = bestExpertOffload(Serving(changed), occupied: occupied),
      let experts = offload.workload.cpuExpertLayers
    {
      found.append(
        Fix(
          .offloadExperts(engine: engine, cpuExpertLayers: experts),
          summary:
            "keep the routed experts of \(experts) of \(request.model.layers) layers in CPU RAM with \(engine.rawValue) (--n-cpu-moe \(experts)), at about \(format(offload.workload.prediction.decodeTokensPerSecond)) tokens/s"
        )
      )
    }
    if found.isEmpty { found.append(Fix(.addGPUs, summary: "add GPUs: no single change above makes it fit")) }
    return ranked(
      found,
      request: request,
      speed: { fix in
        if case .offloadLayers(_, let cpu) = fix.change, cpu > 0 {
          return self.bestOffload(Serving(fix.apply(to: request) ?? request), occupied: occupied)?
            .workload.prediction.throughput
        }
        if case .offloadLayers = fix.change { return bestFit(fix, strategy: .pipeline)?.workload.prediction.throughput }
        if case .offloadExperts = fix.change {
          return self.bestExpertOffload(Serving(fix.apply(to: request) ?? request), occupied: occupied)?
            .workload.prediction.throughput
        }
        return bestFit(fix)?.workload.prediction.throughput
      }
    )
  }

  /// The best layer-offload layout that fits (one GPU, or llama.cpp's split over
  /// the host's GPUs), as the planner would rank them.
  func bestOffload(_ serving: Serving, occupied: Occupancy) -> PricedLayout? {
    offloadCandidates(serving, occupied: occupied).filter { $0.verdict != .doesNotFit }.sorted { better($0, $1) }.first
  }

  /// The best expert-offload layout that fits (llama.cpp `--n-cpu-moe`), or nil.
  func bestExpertOffload(_ serving: Serving, occupied: Occupancy) -> PricedLayout? {
    expertOffloadCandidates(serving, occupied: occupied).filter { $0.verdict != .doesNotFit }
      .sorted { better($0, $1) }.first
  }

  /// Fixes in the order a user wants them: by the speed each gives, the user's own
  /// engine first unless its fix is more than 5× slower than another; each with
  /// that speed said. Fixes of no speed (more GPUs) come last.
  func ranked(_ fixes: [Fix], request: InferenceRequest, speed: (Fix) -> Double?) -> [Fix] {
    let speeds = fixes.map(speed)
    let fastest = speeds.compactMap { $0 }.max() ?? 0
    let unit = request.model.isEncoder ? "tokens/s encoded" : "tokens/s"
    let order = fixes.indices.sorted { a, b in
      func key(_ i: Int) -> (Int, Double) {
        guard let s = speeds[i] else { return (2, 0) }
        let own: Bool
        switch fixes[i].change {
        case .offloadLayers(let engine, _), .offloadExperts(let engine, _): own = engine == request.engine
        default: own = true
        }
        return (own && s * 5 >= fastest ? 0 : 1, -s)
      }
      let (ka, kb) = (key(a), key(b))
      return ka != kb ? ka < kb : a < b
    }
    return order.map { i in
      var fix = fixes[i]
      if let s = speeds[i], !fix.summary.contains("tokens/s") {
        fix.summary += ", about \(format(s)) \(unit)"
      }
      return fix
    }
  }
}
