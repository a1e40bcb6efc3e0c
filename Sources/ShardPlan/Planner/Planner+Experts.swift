import Foundation

extension Planner {
  /// Expert parallelism for MoE models (vLLM `--enable-expert-parallel`): the
  /// routed experts are spread over all `tp × dp` GPUs of the group, attention and
  /// dense layers are tensor-parallel over `tp` and replicated over the `dp`
  /// data-parallel ranks, each of which serves its share of the sequences.
  /// Decode pays two all-to-all exchanges per MoE layer (dispatch and combine) of
  /// the tokens' hidden states to their k experts over the slowest link.
  func expertCandidates(_ request: InferenceRequest, groups: [[Int]]) -> [Candidate] {
    let model = request.model
    guard let moe = model.moe, moe.routedExperts > 1 else { return [] }
    let all = groups.flatMap { $0 }
    guard all.count > 1 else { return [] }
    let tp = groups.first?.count ?? 1
    let dp = groups.count
    let ep = tp * dp
    // Every GPU holds the same number of experts (vLLM requires experts % EP == 0).
    guard moe.routedExperts % ep == 0 else { return [] }
    let profile = EngineProfile.profile(request.engine)
    let experts = request.summary.expertBytesPerLayer
    let expertTotal = experts.reduce(0, +)
    let layerTotal = request.summary.layerBytes.reduce(0, +)
    let embeddingAndHead = request.summary.weightBytes - layerTotal
    let dense = (layerTotal - expertTotal + embeddingAndHead + Int64(tp) - 1) / Int64(tp)
    // Replicas of hot experts (EPLB): R extra slots, a multiple of the group size,
    // each GPU holding (E + R) / EP experts per layer.
    let redundant = request.redundantExperts > 0 ? (request.redundantExperts + ep - 1) / ep * ep : 0
    let slots = moe.routedExperts + redundant
    let expertShare = (expertTotal * Int64(slots) / Int64(moe.routedExperts) + Int64(ep) - 1) / Int64(ep)
    var imbalance = 1.0
    if let load = request.expertLoad, !load.isEmpty, load.allSatisfy({ $0.count == moe.routedExperts }),
      slots % ep == 0
    {
      let nodes = Set(all.map { graph.gpus[$0].host }).count
      if let placement = ExpertBalancer.rebalance(load: load, replicas: slots, groups: 1, nodes: nodes, gpus: ep) {
        let ratios = placement.gpuLoad.map { loads -> Double in
          let mean = loads.reduce(0, +) / Double(max(loads.count, 1))
          return mean > 0 ? (loads.max() ?? 0) / mean : 1
        }
        imbalance = ratios.reduce(0, +) / Double(max(ratios.count, 1))
      }
    }
    let sequencesPerRank = (request.concurrency + dp - 1) / dp
    let kvModel = KVCacheModel(attention: model.attention, type: request.kvCache)
    let kv = kvModel.bytes(
      context: request.context,
      sequences: sequencesPerRank,
      tensorParallel: tp,
      blockSize: profile.kvBlockSize
    )
    let activation = profile.activationBytes(
      model: model,
      context: request.context,
      batch: sequencesPerRank,
      tensorParallel: tp
    )
    let overhead = profile.runtimeBytes + profile.cudaGraphBytes + EngineProfile.ncclBytes(groupSize: ep)
    var devices: [DeviceBudget] = []
    for index in all {
      let gpu = graph.gpus[index]
      devices.append(
        budget(
          gpu,
          usable: usableBytes(gpu, engine: request.engine),
          weights: dense + expertShare,
          kv: kv,
          activation: activation,
          overhead: overhead,
          other: (gpu.memoryUsedBytes ?? 0) + (occupied[index] ?? 0)
        )
      )
    }
    let verdict = devices.map(\.verdict).max() ?? .fits
    // Decode: each GPU reads its dense share, the experts its tokens visit, and its KV cache.
    let gpus = all.map { graph.gpus[$0] }
    let bandwidth = gpus.compactMap(\.memoryBandwidthBytesPerSecond).min() ?? 1_000_000_000_000
    let link = graph.slowestLinkBandwidth(among: all) ?? Int64.max
    let tokens = Double(max(sequencesPerRank, 1))
    // Fraction of the local experts that the batch's tokens visit in one step
    // (uniform routing): 1 − (1 − k/E)^(tokens in the whole batch).
    let visited =
      1 - pow(1 - Double(moe.expertsPerToken) / Double(moe.routedExperts), Double(max(request.concurrency, 1)))
    // The busiest GPU sets the pace: its expert work is `imbalance` times the mean.
    let expertRead = Int64(Double(expertShare) * min(1, visited) * imbalance)
    let hidden = Int64(model.hiddenSize)
    let allToAll =
      Double(2 * moe.moeLayers.count)
      * CostModel.transferSeconds(
        bytes: Int64(tokens) * hidden * 2 * Int64(moe.expertsPerToken),
        linkBandwidth: link
      )
    let tpComm =
      Double(2 * model.layers)
      * CostModel.allReduceSeconds(
        bytes: Int64(tokens) * hidden * 2,
        size: tp,
        linkBandwidth: graph.slowestLinkBandwidth(among: groups[0]) ?? Int64.max
      )
    let decode =
      CostModel.readSeconds(bytes: dense + expertRead + kv, bandwidth: bandwidth)
      + Double(model.layers) * CostModel.layerLatencySeconds + allToAll + tpComm
    let flopsPerToken = request.summary.flopsPerToken
    let tflops = gpus.compactMap(\.bf16TFLOPS).min() ?? 100
    let prefill =
      CostModel.computeSeconds(
        flops: Double(request.context) * Double(flopsPerToken),
        tflops: tflops * Double(tp)
      )
      + Double(2 * moe.moeLayers.count)
      * CostModel.transferSeconds(
        bytes: Int64(request.context) * hidden * 2 * Int64(moe.expertsPerToken) / Int64(ep),
        linkBandwidth: link
      )
    let perSequence = decode > 0 ? 1 / decode : 0
    let workload = WorkloadPlan(
      role: request.role,
      model: model.name,
      weightFormat: request.weightFormat,
      strategy: .expert,
      tensorParallel: tp,
      pipelineParallel: 1,
      expertParallel: ep,
      dataParallel: dp,
      stages: [Stage(devices: all, firstLayer: 0, lastLayer: model.layers - 1)],
      replicaDevices: [all],
      gpuLayers: nil,
      cpuLayers: nil,
      cpuExpertLayers: nil,
      context: request.context,
      concurrency: request.concurrency,
      kvCacheType: request.kvCache.rawValue,
      engine: request.engine.rawValue,
      prediction: Prediction(
        prefillTokensPerSecond: prefill > 0 ? Double(request.context) / prefill : 0,
        decodeTokensPerSecond: perSequence,
        aggregateDecodeTokensPerSecond: perSequence * tokens * Double(dp),
        timeToFirstTokenSeconds: prefill,
        decodeBound: allToAll > decode / 2 ? "expert all-to-all" : "HBM bandwidth"
      )
    )
    let shortfall = devices.min(by: { $0.freeBytes < $1.freeBytes }).flatMap { worst in
      worst.freeBytes < 0 ? "GPU\(worst.index) is short by \(Units.formatBytes(-worst.freeBytes))" : nil
    }
    var planned = workload
    planned.expertLoadImbalance = imbalance
    planned.redundantExperts = redundant
    return [
      Candidate(
        workload: planned,
        devices: devices,
        verdict: verdict,
        cpuBytes: 0,
        shortfall: shortfall,
        gpuCount: all.count
      )
    ]
  }

  /// llama.cpp expert offload (`--n-cpu-moe N`): attention, dense and shared
  /// layers and the experts of the last layers on the GPUs, the routed experts of
  /// the first N layers in CPU RAM — the smallest N that fits. Each token reads k
  /// of E experts of each CPU layer from RAM.
  func expertOffloadCandidates(_ request: InferenceRequest) -> [Candidate] {
    let model = request.model
    guard let moe = model.moe, moe.routedExperts > 1, request.engine == .llamaCpp else { return [] }
    let permitted = request.pinnedGPUs.map(Set.init) ?? allowed
    let gpus = graph.gpus.filter { permitted?.contains($0.index) ?? true }
    guard !gpus.isEmpty else { return [] }
    let host = graph.hosts[gpus[0].host]
    let profile = EngineProfile.profile(.llamaCpp)
    let experts = request.summary.expertBytesPerLayer
    let (weights, kv) = perLayerBytes(request, tensorParallel: 1)
    let head = request.summary.headBytes
    let activation = profile.activationBytes(
      model: model,
      context: request.context,
      batch: request.concurrency,
      tensorParallel: 1
    )
    let usable = gpus.map { usableBytes($0, engine: .llamaCpp) - activation - profile.runtimeBytes }.reduce(0, +)
    let needed = weights.reduce(0, +) + kv.reduce(0, +) + head
    guard needed > usable else { return [] }  // everything fits on the GPUs: not an offload plan
    var cpuLayers = 0
    var onGPU = needed
    while cpuLayers < model.layers, onGPU > usable {
      onGPU -= experts[cpuLayers]
      cpuLayers += 1
    }
    let cpuBytes = experts[0..<cpuLayers].reduce(0, +)
    let fits = onGPU <= usable && (host.ramBytes.map { cpuBytes <= $0 } ?? true)
    // Split what stays on the GPUs in proportion to their memory (llama.cpp --tensor-split).
    let shares = gpus.map { Double(usableBytes($0, engine: .llamaCpp)) }
    let totalShare = shares.reduce(0, +)
    var devices: [DeviceBudget] = []
    for (offset, gpu) in gpus.enumerated() {
      let part = Int64(Double(onGPU) * shares[offset] / max(totalShare, 1))
      let capacity = gpu.memoryBytes ?? 0
      let gpuUsable = usableBytes(gpu, engine: .llamaCpp)
      let used = part + activation + profile.runtimeBytes
      devices.append(
        DeviceBudget(
          index: gpu.index,
          name: gpu.name,
          capacityBytes: capacity,
          usableBytes: gpuUsable,
          usedBytes: used,
          weightBytes: part,
          kvCacheBytes: 0,
          activationBytes: activation,
          overheadBytes: profile.runtimeBytes,
          otherBytes: gpu.memoryUsedBytes ?? 0,
          freeBytes: gpuUsable - used,
          verdict: gpuUsable >= used ? .fits : .doesNotFit
        )
      )
    }
    let bandwidth = gpus.compactMap(\.memoryBandwidthBytesPerSecond).min() ?? 1_000_000_000_000
    let ramBandwidth = host.ramBandwidthBytesPerSecond ?? 50_000_000_000
    let activeFraction = Double(moe.expertsPerToken) / Double(moe.routedExperts)
    let gpuExperts = experts[cpuLayers...].reduce(0, +)
    let gpuRead = onGPU - Int64(Double(gpuExperts) * (1 - activeFraction))
    let decode =
      CostModel.readSeconds(bytes: gpuRead, bandwidth: bandwidth)
      + Double(cpuBytes) * activeFraction / (Double(ramBandwidth) * CostModel.ramEfficiency)
      + Double(model.layers) * CostModel.layerLatencySeconds
    let perSequence = decode > 0 ? 1 / decode : 0
    // Prefill: GPU compute for the whole prompt, plus reading the RAM-resident
    // experts once per ubatch of 512 tokens (llama.cpp streams them to the GPU).
    let flopsPerToken = request.summary.flopsPerToken
    let ubatches = Double((request.context + 511) / 512)
    let pcie =
      gpus.compactMap { gpu in
        gpu.pcieGeneration.flatMap { PCIeRates.bytesPerSecond(generation: $0, lanes: gpu.pcieWidth ?? 16) }
      }.min() ?? 16_000_000_000
    let prefill =
      CostModel.computeSeconds(
        flops: Double(request.context) * Double(flopsPerToken),
        tflops: gpus.compactMap(\.bf16TFLOPS).reduce(0, +)
      )
      + ubatches * Double(cpuBytes) / Double(min(pcie, ramBandwidth))
    let workload = WorkloadPlan(
      role: request.role,
      model: model.name,
      weightFormat: request.weightFormat,
      strategy: .offload,
      tensorParallel: 1,
      pipelineParallel: 1,
      expertParallel: 1,
      dataParallel: 1,
      stages: [Stage(devices: gpus.map(\.index), firstLayer: 0, lastLayer: model.layers - 1)],
      replicaDevices: [gpus.map(\.index)],
      gpuLayers: model.layers,
      cpuLayers: nil,
      cpuExpertLayers: cpuLayers,
      context: request.context,
      concurrency: request.concurrency,
      kvCacheType: request.kvCache.rawValue,
      engine: Engine.llamaCpp.rawValue,
      prediction: Prediction(
        prefillTokensPerSecond: prefill > 0 ? Double(request.context) / prefill : 0,
        decodeTokensPerSecond: perSequence,
        aggregateDecodeTokensPerSecond: perSequence * Double(request.concurrency),
        timeToFirstTokenSeconds: prefill,
        decodeBound: "CPU RAM bandwidth (experts of \(cpuLayers) layers in RAM: --n-cpu-moe \(cpuLayers))"
      )
    )
    return [
      Candidate(
        workload: workload,
        devices: devices,
        verdict: fits ? .tight : .doesNotFit,
        cpuBytes: cpuBytes,
        shortfall: fits ? nil : "does not fit even with every layer's experts in CPU RAM",
        gpuCount: gpus.count
      )
    ]
  }
}
