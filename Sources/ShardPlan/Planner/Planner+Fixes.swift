extension Planner {
  /// The smallest changes that make the request fit beside what `occupied` holds,
  /// each checked by planning again.
  func fixes(_ serving: Serving, occupied: Occupancy = [:]) -> [String] {
    let request = serving.request
    var found: [String] = []
    func fits(_ changed: Serving) -> Bool {
      candidates(changed, occupied: occupied, strategy: strategy == .offload ? .offload : .tensor)
        .contains { $0.verdict != .doesNotFit && $0.workload.cpuLayers == nil }
    }
    let compact = serving.profile.compactKVCache
    if ![KVCacheType.fp8, .q4_0, .q8_0].contains(request.kvCache) {
      if fits(serving.with { $0.kvCache = compact }) {
        found.append("store the KV cache in \(compact.rawValue) (--kv-dtype \(compact.rawValue))")
      }
    }
    let floatWeights: Bool
    switch request.weights {
    case .converted(.float): floatWeights = true
    case .converted: floatWeights = false
    case .stored: floatWeights = request.model.tensorSource != "gguf" && request.model.quantization == nil
    }
    if floatWeights {
      for (format, flag) in [(WeightFormat.fp8, "--quant fp8"), (.int4, "--quant int4")] {
        let changed = Serving(
          {
            var copy = request
            copy.model = request.model.converted(to: format)
            copy.weights = .converted(format)
            return copy
          }()
        )
        if fits(changed) {
          found.append("quantize the weights to \(format.label) (\(flag))")
          break
        }
      }
    }
    // Longest context that fits, by bisection.
    let low = Self.largest(in: 0...request.context) { context in fits(serving.with { $0.context = context }) }
    if low >= 512 { found.append("shorten the context to \(low) tokens (--context \(low))") }
    if request.concurrency > 1 {
      let lowSeq = Self.largest(in: 0...request.concurrency) { sequences in
        fits(serving.with { $0.concurrency = sequences })
      }
      if lowSeq >= 1 {
        found.append("serve \(lowSeq) sequences at once instead of \(request.concurrency) (--concurrency \(lowSeq))")
      }
    }
    let onLlamaCpp = serving.with {
      if $0.engine != .llamaCpp, $0.kvCache == .bf16 { $0.kvCache = .f16 }
      $0.engine = .llamaCpp
    }
    if let offload = offloadCandidates(onLlamaCpp, occupied: occupied).first, offload.verdict != .doesNotFit,
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
