extension Planner {
  /// The smallest changes that make the request fit beside what `occupied` holds,
  /// each checked by applying it and planning again.
  func fixes(_ serving: Serving, occupied: Occupancy = [:]) -> [Fix] {
    let request = serving.request
    var found: [Fix] = []
    /// Whether the request with `fix` applied has a GPU-only layout that fits.
    func fits(_ fix: Fix) -> Bool {
      guard let changed = fix.apply(to: request) else { return false }
      // Only a change of weights changes the model's aggregates.
      let priced: Serving
      if case .weights = fix.change { priced = Serving(changed) } else { priced = serving.with { $0 = changed } }
      return candidates(priced, occupied: occupied, strategy: strategy == .offload ? .offload : .tensor)
        .contains { $0.verdict != .doesNotFit && $0.workload.cpuLayers == nil }
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
    case .stored: floatWeights = !request.model.tensorSource.isGGUF && request.model.quantization == nil
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
    // Layers in CPU RAM with the engine that runs them there (llama.cpp).
    if let engine = Engine.allCases.first(where: { EngineProfile.profile($0).offloadsExperts }),
      let changed = Fix(.offloadLayers(engine: engine, cpuLayers: 0), summary: "").apply(to: request),
      let offload = offloadCandidates(serving.with { $0 = changed }, occupied: occupied).first,
      offload.verdict != .doesNotFit,
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
    if found.isEmpty { found.append(Fix(.addGPUs, summary: "add GPUs: no single change above makes it fit")) }
    return found
  }
}
