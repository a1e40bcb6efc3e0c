import Foundation

/// What the cost model reads of one GPU, checked once when a planner is made.
struct CardRates: Hashable, Sendable {
  /// Peak HBM bandwidth, bytes/s.
  var bandwidthBytesPerSecond: Int64
  /// Dense bf16 peak, TFLOPS.
  var bf16TFLOPS: Double
  /// Host-to-GPU copy rate, bytes/s: the card's PCIe link, or Gen4 x16 where no
  /// source gives it (the device graph's assumption for its PCIe links too).
  var pcieBytesPerSecond: Int64
}

/// One inference request with what pricing reads again and again, computed once
/// per plan (DeepSeek-V3 has about 90,000 tensors).
struct Serving {
  var request: InferenceRequest
  var summary: ModelSummary
  var profile: EngineProfile

  init(_ request: InferenceRequest) {
    self.request = request
    summary = ModelSummary(request.model)
    profile = request.profile
  }

  /// The same model and engine with other context, sequences or KV type.
  func with(_ change: (inout InferenceRequest) -> Void) -> Serving {
    var copy = self
    change(&copy.request)
    copy.profile = copy.request.profile
    return copy
  }

  var model: ModelSpec { request.model }
}

/// Memory that workloads placed earlier already hold on each GPU, by GPU index.
typealias Occupancy = [Int: Int64]

extension Planner {
  /// Prices a placement of one workload alone on the planner's graph: every GPU's
  /// budget, the verdict and the predicted speed. The search, `validate`, `emit`
  /// and `train-time` all get their numbers from this function.
  ///
  /// - Returns: nil when the placement does not fit the request's shape (a GPU
  ///   the graph lacks, stages and layer ranges that disagree, a training
  ///   placement for an inference request), or when the request serves a model
  ///   whose KV cache is unknown (``ModelSpec/kvCacheIsKnown``).
  public func price(_ placement: Placement, for request: WorkloadRequest) -> PricedLayout? {
    price(placement, request, occupied: [:])
  }

  /// Prices a placement beside the memory `occupied` holds (the validator's
  /// workloads one after another, through a ``Ledger``).
  func price(_ placement: Placement, _ request: WorkloadRequest, occupied: Occupancy) -> PricedLayout? {
    switch request {
    case .inference(let inference): price(placement, Serving(inference), occupied: occupied)
    case .training(let training): price(placement, training, occupied: occupied)
    }
  }

  // MARK: - Serving

  func price(_ placement: Placement, _ serving: Serving, occupied: Occupancy) -> PricedLayout? {
    let gpus = placement.gpus
    guard !gpus.isEmpty, gpus.allSatisfy(graph.gpus.indices.contains), serving.model.kvCacheIsKnown,
      serving.request.contextRefusal == nil
    else {
      return nil
    }
    let layout: PricedLayout? =
      switch placement {
      case .layers(let stages, let layers, let replicas):
        priceLayers(serving, stages: stages, ranges: layers, replicas: replicas, occupied: occupied)
      case .experts(let groups):
        priceExperts(serving, groups: groups, occupied: occupied)
      case .layerOffload(let gpus, let gpuLayers):
        priceLayerOffload(serving, gpus: gpus, gpuLayers: gpuLayers, occupied: occupied)
      case .expertOffload(let gpus, let cpuExpertLayers):
        priceExpertOffload(serving, gpus: gpus, cpuExpertLayers: cpuExpertLayers, occupied: occupied)
      case .training:
        nil
      }
    return layout.map { withKernelSpeed($0, serving) }
  }

  /// The layout's decode at its kernels' measured speed where they fall short of
  /// the bytes model (``CostModel/kernelSpeed(engine:weights:)``): the rate the
  /// same layout would have in bf16, times the measured ratio. The bf16 rate is
  /// taken as the bytes model's rate scaled by the weight bytes (KV reads and
  /// latencies alike in both), an approximation the plan's note states.
  func withKernelSpeed(_ layout: PricedLayout, _ serving: Serving) -> PricedLayout {
    var layout = layout
    if serving.request.engine == .llamaCpp, serving.model.moe != nil {
      let factor = CostModel.llamaCppMoE
      layout.workload.prediction.decodeTokensPerSecond *= factor.decode
      layout.workload.prediction.aggregateDecodeTokensPerSecond *= factor.decode
      layout.workload.prediction.prefillTokensPerSecond *= factor.prefill
      layout.workload.prediction.timeToFirstTokenSeconds /= factor.prefill
    }
    guard let kernel = CostModel.kernelSpeed(engine: serving.request.engine, weights: serving.request.weights) else {
      return layout
    }
    let quantized = Double(serving.model.weightBytes)
    let bf16 = Double(serving.model.parameters) * 2
    guard quantized > 0, bf16 > 0 else { return layout }
    let scale = min(1, kernel.relativeToBF16 * quantized / bf16)
    var priced = layout
    priced.workload.prediction.decodeTokensPerSecond *= scale
    priced.workload.prediction.aggregateDecodeTokensPerSecond *= scale
    priced.workload.prediction.decodeBound += ", dequantizing kernels (measured)"
    return priced
  }

  /// Per-GPU memory the engine may use: its memory fraction of the card (as CUDA
  /// reports it: less the driver's reserved memory) minus what other processes and
  /// earlier workloads hold.
  func usableBytes(_ gpu: GPU, profile: EngineProfile, occupied: Occupancy) -> Int64 {
    let fraction = profile.memoryFraction ?? 1.0
    let capacity = gpu.allocatableBytes ?? 0
    return Int64(Double(capacity) * fraction) - (gpu.memoryUsedBytes ?? 0) - (occupied[gpu.index] ?? 0)
  }

  /// One workload's budget on a GPU — the one budget rule of every path: what it
  /// uses of `usable`, and the verdict of what is left (does-not-fit below zero,
  /// `tight` under `tightFraction` of the card free).
  func budget(
    _ gpu: GPU,
    usable: Int64,
    weights: Int64,
    kv: Int64,
    activation: Int64,
    overhead: Int64,
    gradients: Int64 = 0,
    optimizer: Int64 = 0
  ) -> DeviceBudget {
    let capacity = gpu.allocatableBytes ?? 0
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
      otherBytes: gpu.memoryUsedBytes ?? 0,
      freeBytes: free,
      verdict: free < 0 ? .doesNotFit : (Double(free) < tightFraction * Double(capacity) ? .tight : .fits),
      gradientBytes: gradients,
      optimizerBytes: optimizer
    )
  }

  /// The priced layout of budgets: the worst GPU's verdict (or `extra`, when worse),
  /// and the shortfall of the tightest GPU when it is over. `ram` is the verdict on
  /// CPU RAM for the `cpuBytes` kept off the GPUs (nil in the layout when there are
  /// none): inference offload is at best `tight`, it works at the speed stated.
  func priced(
    _ workload: WorkloadPlan,
    devices: [DeviceBudget],
    cpuBytes: Int64,
    ram: Verdict = .tight,
    verdict extra: Verdict = .fits,
    shortfall extraShortfall: Shortfall? = nil
  ) -> PricedLayout {
    var plan = workload
    plan.cpuBytes = cpuBytes
    plan.gpuShares = devices.sorted { $0.index < $1.index }.map {
      GPUShare(gpu: $0.index, usedBytes: $0.usedBytes, weightBytes: $0.weightBytes, kvCacheBytes: $0.kvCacheBytes)
    }
    let verdict = max(devices.map(\.verdict).max() ?? .doesNotFit, extra)
    var shortfall = extraShortfall
    if shortfall == nil, verdict == .doesNotFit, let worst = devices.min(by: { $0.freeBytes < $1.freeBytes }),
      worst.freeBytes < 0
    {
      shortfall = .gpu(index: worst.index, bytes: -worst.freeBytes)
    }
    return PricedLayout(
      workload: plan,
      devices: devices,
      verdict: verdict,
      shortfall: shortfall,
      cpuVerdict: cpuBytes > 0 ? ram : nil
    )
  }

  /// Sequences each of `copies` engine copies (data-parallel replicas or attention
  /// ranks) holds when `concurrency` sequences are in flight over the whole
  /// deployment: its share, rounded up, at least one.
  static func sequencesPerCopy(_ concurrency: Int, copies: Int) -> Int {
    let copies = max(copies, 1)
    return max(1, (max(concurrency, 1) + copies - 1) / copies)
  }

  /// Layer bytes that go on each rank for weights and the KV cache.
  func perLayerBytes(_ serving: Serving, tensorParallel: Int, sequences: Int? = nil) -> (weights: [Int64], kv: [Int64])
  {
    let model = serving.model
    let request = serving.request
    let kvModel = KVCacheModel(attention: model.attention, type: request.kvCache)
    let weights = serving.summary.layerBytes.map { ($0 + Int64(tensorParallel) - 1) / Int64(tensorParallel) }
    let kv = kvModel.layerBytes(
      context: request.context,
      sequences: sequences ?? request.concurrency,
      tensorParallel: tensorParallel,
      blockSize: serving.profile.kvBlockSize
    ).prefix(model.layers)
    let paddedKV =
      kv.count == weights.count ? Array(kv) : Array(kv) + [Int64](repeating: 0, count: max(0, weights.count - kv.count))
    return (weights, paddedKV)
  }

  /// Activations and overheads on each GPU of a tensor-parallel group of `tp`
  /// (collectives over `collectiveGroup` GPUs), with `sequences` sequences per rank.
  func fixedBytes(
    _ serving: Serving,
    tensorParallel tp: Int,
    collectiveGroup: Int,
    sequences: Int
  ) -> (
    activation: Int64, overhead: Int64
  ) {
    let profile = serving.profile
    let activation = profile.activationBytes(
      model: serving.model,
      context: serving.request.context,
      batch: sequences,
      tensorParallel: tp
    )
    return (activation, profile.overheadBytes(groupSize: collectiveGroup))
  }

  /// The rates of the slowest GPU of a group.
  func slowest(_ group: [Int]) -> CardRates {
    let cards = group.map { rates[$0] }
    return CardRates(
      bandwidthBytesPerSecond: cards.map(\.bandwidthBytesPerSecond).min() ?? 0,
      bf16TFLOPS: cards.map(\.bf16TFLOPS).min() ?? 0,
      pcieBytesPerSecond: cards.map(\.pcieBytesPerSecond).min() ?? 0
    )
  }

  /// The engine's kernel-launch seconds per layer and decode step on these GPUs
  /// (llama.cpp without CUDA graphs on cards older than Ampere).
  func launchSeconds(_ serving: Serving, gpus: [Int]) -> Double {
    serving.profile.decodeLaunchSecondsPerLayer(computeCapabilities: gpus.map { graph.gpus[$0].computeCapability })
  }

  /// CPU RAM bandwidth of a host, or the cost model's stated assumption.
  func ramBandwidth(_ host: Host) -> Int64 {
    host.ramBandwidthBytesPerSecond ?? CostModel.assumedRAMBandwidthBytesPerSecond
  }

  /// A workload plan with the request's fields and a layout; the rest follows.
  func workloadPlan(
    _ request: InferenceRequest,
    strategy: Strategy,
    tensorParallel: Int,
    pipelineParallel: Int = 1,
    expertParallel: Int = 1,
    dataParallel: Int = 1,
    stages: [Stage],
    replicaDevices: [[Int]],
    prediction: Prediction
  ) -> WorkloadPlan {
    var plan = WorkloadPlan(
      role: request.role,
      model: request.model.name,
      weights: request.weights,
      strategy: strategy,
      tensorParallel: tensorParallel,
      pipelineParallel: pipelineParallel,
      expertParallel: expertParallel,
      dataParallel: dataParallel,
      stages: stages,
      replicaDevices: replicaDevices,
      gpuLayers: nil,
      cpuLayers: nil,
      cpuExpertLayers: nil,
      context: request.context,
      concurrency: request.concurrency,
      // An encoder keeps no KV cache (its plan names no cache type).
      kvCache: request.model.isEncoder ? nil : request.kvCache,
      engine: request.engine,
      prediction: prediction
    )
    let state = KVCacheModel(attention: request.model.attention, type: request.kvCache).stateBytesPerSequence()
    if state > 0 { plan.recurrentStateBytesPerSequence = state }
    plan.memoryFraction = request.profile.memoryFraction
    return plan
  }

  // MARK: Tensor × pipeline × data parallel

  func priceLayers(
    _ serving: Serving,
    stages stageGroups: [[Int]],
    ranges: [Range<Int>],
    replicas otherReplicas: [[[Int]]],
    occupied: Occupancy
  ) -> PricedLayout? {
    let request = serving.request
    let model = serving.model
    let tp = stageGroups.first?.count ?? 1
    guard tp > 0, ranges.count == stageGroups.count,
      ([stageGroups] + otherReplicas).allSatisfy({ $0.count == stageGroups.count && $0.allSatisfy { $0.count == tp } }),
      ranges.allSatisfy({ $0.lowerBound >= 0 && $0.upperBound <= model.layers })
    else { return nil }
    let replicas = 1 + otherReplicas.count
    // The requested sequences are spread over the replicas: each holds its share.
    let perCopy = Self.sequencesPerCopy(request.concurrency, copies: replicas)
    let (layerWeights, layerKV) = perLayerBytes(serving, tensorParallel: tp, sequences: perCopy)
    let (activation, overhead) = fixedBytes(
      serving,
      tensorParallel: tp,
      collectiveGroup: tp,
      sequences: perCopy
    )
    // An engine that keeps the token embedding in host memory holds it there once
    // per copy; a tied head then needs its own copy on the last stage.
    let onHost = serving.profile.keepsInputEmbeddingOnHost ? serving.summary.embeddingBytes : 0
    let tiedCopy = model.tiedEmbeddings ? onHost : 0
    let embedding = (serving.summary.firstStageBytes - onHost + Int64(tp) - 1) / Int64(tp)
    let head = (serving.summary.lastStageBytes + tiedCopy + Int64(tp) - 1) / Int64(tp)
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
            usable: usableBytes(gpu, profile: serving.profile, occupied: occupied),
            weights: weights,
            kv: kv,
            activation: activation,
            overhead: overhead
          )
        )
      }
    }
    // Decode: each stage reads its weights and cache and all-reduces twice per
    // layer; stages hand the batch's hidden states on. Prefill: one prompt of the
    // context, split over the group's GPUs.
    let batch = Int64(perCopy)
    let tokens = Int64(request.context)
    var decode = 0.0
    var prefill = 0.0
    var communication = 0.0
    let attentionWidth = Int64(model.attention.heads * max(model.attention.keyHeadDim, 1))
    for (index, group) in stageGroups.enumerated() {
      let card = slowest(group)
      let link = collectiveBandwidth(among: group)
      let layers = ranges[index].count
      // A MoE layer's step reads only the experts the batch's tokens visit.
      let read = ranges[index].reduce(Int64(0)) { sum, layer in
        sum + (serving.summary.decodeReadBytes(layer: layer, tokens: Int(batch)) + Int64(tp) - 1) / Int64(tp)
      }
      var bytes = read + layerKV[ranges[index]].reduce(0, +)
      // The cost model counts the whole embedding table as read each step, where
      // it stays (calibrated so; a lookup reads one row per token).
      if index == 0 { bytes += embedding + (onHost - tiedCopy + Int64(tp) - 1) / Int64(tp) }
      if index == stageGroups.count - 1 { bytes += head - (tiedCopy + Int64(tp) - 1) / Int64(tp) }
      let stageComm = CostModel.tensorParallelSeconds(
        layers: layers,
        tokens: batch,
        hiddenSize: model.hiddenSize,
        size: tp,
        linkBandwidth: link
      )
      decode += CostModel.decodeStageSeconds(
        bytes: bytes,
        bandwidth: card.bandwidthBytesPerSecond,
        layers: layers,
        communicationSeconds: stageComm,
        efficiency: calibration.hbmEfficiency,
        launchSecondsPerLayer: launchSeconds(serving, gpus: group)
      )
      communication += stageComm
      let flops = CostModel.prefillFLOPs(
        tokens: request.context,
        flopsPerToken: serving.summary.flopsPerToken,
        layers: layers,
        modelLayers: model.layers,
        attentionWidth: attentionWidth
      )
      prefill +=
        CostModel.computeSeconds(
          flops: flops / Double(tp),
          tflops: card.bf16TFLOPS,
          efficiency: gemmEfficiency(request.weights)
        )
        + CostModel.tensorParallelSeconds(
          layers: layers,
          tokens: tokens,
          hiddenSize: model.hiddenSize,
          size: tp,
          linkBandwidth: link
        )
      if index > 0 {
        let handoff = graph.link(stageGroups[index - 1][0], group[0])?.bandwidthBytesPerSecond ?? Int64.max
        decode += CostModel.handoffSeconds(tokens: batch, hiddenSize: model.hiddenSize, linkBandwidth: handoff)
        prefill += CostModel.handoffSeconds(tokens: tokens, hiddenSize: model.hiddenSize, linkBandwidth: handoff)
      }
    }
    let prediction = CostModel.prediction(
      decodeSeconds: decode,
      prefillSeconds: prefill,
      promptTokens: request.context,
      sequencesInFlight: request.concurrency,
      slots: perCopy * replicas,
      copies: replicas,
      encoder: model.isEncoder,
      bound: communication > decode / 2 ? "tensor-parallel all-reduce" : "HBM bandwidth"
    )
    let pipeline = stageGroups.count
    var workload = workloadPlan(
      request,
      strategy: pipeline > 1 ? (tp > 1 ? .auto : .pipeline) : (tp > 1 ? .tensor : .auto),
      tensorParallel: tp,
      pipelineParallel: pipeline,
      dataParallel: replicas,
      stages: zip(stageGroups, ranges).map {
        Stage(devices: $0, firstLayer: $1.lowerBound, lastLayer: $1.upperBound - 1)
      },
      replicaDevices: [stageGroups.flatMap { $0 }] + otherReplicas.map { $0.flatMap { $0 } },
      prediction: prediction
    )
    workload.vllmLayerPartition = serving.profile.layerPartition(workload.stages, layers: model.layers)
    let hostBytes = onHost * Int64(replicas)
    let ram = graph.hosts[graph.gpus[stageGroups[0][0]].host].ramBytes ?? 0
    let shortOfRAM = ram > 0 && hostBytes > ram
    return priced(
      workload,
      devices: devices,
      cpuBytes: hostBytes,
      ram: shortOfRAM ? .doesNotFit : .fits,
      verdict: shortOfRAM ? .doesNotFit : .fits,
      shortfall: shortOfRAM ? .cpuRAM(neededBytes: hostBytes, availableBytes: ram, host: nil) : nil
    )
  }

  /// The capacities of replica 0's stages for the pipeline partition: each
  /// stage's smallest usable memory less activations and overheads.
  func pipelineStages(
    _ serving: Serving,
    stageGroups: [[Int]],
    occupied: Occupancy,
    sequences: Int
  ) -> [PipelinePartition.Stage] {
    let tp = stageGroups.first?.count ?? 1
    let (activation, overhead) = fixedBytes(
      serving,
      tensorParallel: tp,
      collectiveGroup: tp,
      sequences: sequences
    )
    let embedding = (serving.summary.firstStageBytes + Int64(tp) - 1) / Int64(tp)
    let head = (serving.summary.lastStageBytes + Int64(tp) - 1) / Int64(tp)
    return stageGroups.map { group in
      let capacity =
        group.map { usableBytes(graph.gpus[$0], profile: serving.profile, occupied: occupied) }.min() ?? 0
      return .init(
        capacityBytes: capacity - activation - overhead,
        secondsPerByte: 1 / (Double(slowest(group).bandwidthBytesPerSecond) * calibration.hbmEfficiency),
        firstStageExtraBytes: embedding,
        lastStageExtraBytes: head
      )
    }
  }

  // MARK: Expert parallelism

  /// Routed experts spread over all `tp × dp` GPUs of the groups, attention and
  /// dense layers tensor-parallel over `tp` and replicated over the `dp` ranks, each
  /// serving its share of the sequences. Decode pays two all-to-all exchanges per
  /// MoE layer (dispatch and combine) of the tokens' hidden states to their k
  /// experts over the slowest link.
  func priceExperts(_ serving: Serving, groups: [[Int]], occupied: Occupancy) -> PricedLayout? {
    let request = serving.request
    let model = serving.model
    guard let moe = model.moe, moe.routedExperts > 1 else { return nil }
    let all = groups.flatMap { $0 }
    let tp = groups.first?.count ?? 1
    let dp = groups.count
    let ep = tp * dp
    // Every GPU holds the same number of experts (vLLM requires experts % EP == 0).
    guard all.count > 1, tp > 0, groups.allSatisfy({ $0.count == tp }), moe.routedExperts % ep == 0 else {
      return nil
    }
    let summary = serving.summary
    let expertTotal = summary.expertBytesPerLayer.reduce(0, +)
    let layerTotal = summary.layerBytes.reduce(0, +)
    let embeddingAndHead = summary.weightBytes - layerTotal
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
    let kv = KVCacheModel(attention: model.attention, type: request.kvCache).bytes(
      context: request.context,
      sequences: sequencesPerRank,
      tensorParallel: tp,
      blockSize: serving.profile.kvBlockSize
    )
    let (activation, overhead) = fixedBytes(
      serving,
      tensorParallel: tp,
      collectiveGroup: ep,
      sequences: sequencesPerRank
    )
    let devices = all.map { index in
      let gpu = graph.gpus[index]
      return budget(
        gpu,
        usable: usableBytes(gpu, profile: serving.profile, occupied: occupied),
        weights: dense + expertShare,
        kv: kv,
        activation: activation,
        overhead: overhead
      )
    }
    // Decode: each GPU reads its dense share, the experts its tokens visit, and its KV cache.
    let card = slowest(all)
    let link = graph.slowestLinkBandwidth(among: all) ?? Int64.max
    let tokens = Int64(max(sequencesPerRank, 1))
    // Fraction of the local experts that the batch's tokens visit in one step
    // (uniform routing): 1 − (1 − k/E)^(tokens in the whole batch).
    let visited =
      1 - pow(1 - Double(moe.expertsPerToken) / Double(moe.routedExperts), Double(max(request.concurrency, 1)))
    // The busiest GPU sets the pace: its expert work is `imbalance` times the mean.
    let expertRead = Int64(Double(expertShare) * min(1, visited) * imbalance)
    let dispatched = Int64(moe.expertsPerToken) * CostModel.activationElementBytes * Int64(model.hiddenSize)
    let allToAll =
      Double(2 * moe.moeLayers.count) * CostModel.transferSeconds(bytes: tokens * dispatched, linkBandwidth: link)
    let tpComm = CostModel.tensorParallelSeconds(
      layers: model.layers,
      tokens: tokens,
      hiddenSize: model.hiddenSize,
      size: tp,
      linkBandwidth: collectiveBandwidth(among: groups[0])
    )
    let decode =
      CostModel.decodeStageSeconds(
        bytes: dense + expertRead + kv,
        bandwidth: card.bandwidthBytesPerSecond,
        layers: model.layers,
        communicationSeconds: allToAll,
        efficiency: calibration.hbmEfficiency
      ) + tpComm
    let prefill =
      CostModel.computeSeconds(
        flops: Double(request.context) * Double(summary.flopsPerToken),
        tflops: card.bf16TFLOPS * Double(tp),
        efficiency: gemmEfficiency(request.weights)
      )
      + Double(2 * moe.moeLayers.count)
      * CostModel.transferSeconds(bytes: Int64(request.context) * dispatched / Int64(ep), linkBandwidth: link)
    var workload = workloadPlan(
      request,
      strategy: .expert,
      tensorParallel: tp,
      expertParallel: ep,
      dataParallel: dp,
      stages: [Stage(devices: all, firstLayer: 0, lastLayer: model.layers - 1)],
      replicaDevices: [all],
      prediction: CostModel.prediction(
        decodeSeconds: decode,
        prefillSeconds: prefill,
        promptTokens: request.context,
        sequencesInFlight: request.concurrency,
        slots: sequencesPerRank * dp,
        bound: allToAll > decode / 2 ? "expert all-to-all" : "HBM bandwidth"
      )
    )
    workload.expertLoadImbalance = imbalance
    workload.redundantExperts = redundant
    return priced(workload, devices: devices, cpuBytes: 0)
  }

  // MARK: Layer offload

  /// What a layer-offload plan keeps on its GPU whatever the split: activations,
  /// overheads and the output head, and — when the engine streams offloaded
  /// layers to the GPU instead of running them on the CPU — the whole KV cache and
  /// the input embedding.
  struct OffloadShape {
    var weights: [Int64]
    var kv: [Int64]
    var activation: Int64
    var overhead: Int64
    var head: Int64
    var embedding: Int64
    /// True when the engine copies offloaded layers to the GPU for every forward
    /// pass (accelerate, vLLM and SGLang); false when it computes them on the CPU
    /// from RAM (llama.cpp).
    var streams: Bool
    var usable: Int64

    var resident: Int64 { activation + overhead + head + (streams ? kv.reduce(0, +) + embedding : 0) }
    /// GPU bytes of decoder layer `index` when it sits on the GPU.
    func layerBytes(_ index: Int) -> Int64 { weights[index] + (streams ? 0 : kv[index]) }
  }

  /// Per-layer weights and KV cache, and activations, of one GPU holding whole
  /// layers (no tensor parallelism): what both offload placements start from.
  func singleGPUBytes(_ serving: Serving) -> (weights: [Int64], kv: [Int64], activation: Int64) {
    let (weights, kv) = perLayerBytes(serving, tensorParallel: 1)
    let (activation, _) = fixedBytes(
      serving,
      tensorParallel: 1,
      collectiveGroup: 1,
      sequences: serving.request.concurrency
    )
    return (weights, kv, activation)
  }

  func offloadShape(_ serving: Serving, gpu: GPU, occupied: Occupancy) -> OffloadShape {
    let (weights, kv, activation) = singleGPUBytes(serving)
    return OffloadShape(
      weights: weights,
      kv: kv,
      activation: activation,
      overhead: serving.profile.overheadBytes(groupSize: 1),
      head: serving.summary.headBytes,
      embedding: serving.summary.embeddingBytes,
      streams: !serving.profile.computesOffloadedLayersOnCPU,
      usable: usableBytes(gpu, profile: serving.profile, occupied: occupied)
    )
  }

  /// The most decoder layers that fit on `gpu` beside what it always holds,
  /// taken from the last layer down (llama.cpp: `i_gpu_start = n_layer − n_gpu_layers`).
  func mostGPULayers(_ serving: Serving, gpu: GPU, occupied: Occupancy) -> Int {
    mostGPULayers(serving, gpus: [gpu.index], occupied: occupied)[0]
  }

  /// Prices layer offload: the first layers in CPU RAM, then `gpuLayers[k]` layers
  /// on `gpus[k]` in order, the last GPU with the output head. Decode reads each
  /// GPU's part at its bandwidth in turn and the CPU layers at RAM (or, for engines
  /// that stream them, PCIe) speed; the GPUs' layers are computed one after another.
  /// The most decoder layers that fit on each of `gpus` in turn, filled from the
  /// last layer down and the last GPU (which holds the output head) first, as
  /// llama.cpp's `-ngl` with `--tensor-split` lays them out.
  /// When not every layer fits, the first GPU also keeps room for the weight
  /// copy of the layers left in RAM (``weightCopy(_:layersInRAM:)``), as large as
  /// the largest layer weight of all: the layers left there are not known before.
  func mostGPULayers(_ serving: Serving, gpus: [Int], occupied: Occupancy) -> [Int] {
    let shapes = gpus.map { offloadShape(serving, gpu: graph.gpus[$0], occupied: occupied) }
    func fill(copy: Int64) -> [Int] {
      var index = serving.model.layers - 1
      var counts = Array(repeating: 0, count: gpus.count)
      for position in gpus.indices.reversed() {
        let shape = shapes[position]
        var left =
          shape.usable - shape.resident + (position == gpus.count - 1 ? 0 : shape.head) - (position == 0 ? copy : 0)
        while index >= 0, left >= shape.layerBytes(index) {
          left -= shape.layerBytes(index)
          counts[position] += 1
          index -= 1
        }
      }
      return counts
    }
    let all = fill(copy: 0)
    let layers = serving.model.layers
    guard all.reduce(0, +) < layers else { return all }
    return fill(copy: weightCopy(serving, layersInRAM: layers))
  }

  /// The compute-buffer room llama.cpp's scheduler needs on the first GPU when
  /// the first `layersInRAM` layers (or their experts) stay in RAM: it runs their
  /// matrix products for a ubatch of 32 tokens or more on the GPU (ggml's CUDA
  /// backend offloads such ops; `--no-op-offload` turns it off), copying each
  /// weight into the compute buffer first. The largest of those weights is
  /// counted (a layer's experts of one kind are one tensor to llama.cpp). A real
  /// log shows the copy: Mistral 7B Q4_K_M with its output in RAM had a
  /// 137.79 MiB CUDA0 compute buffer, the logits and hidden state of a 256-token
  /// ubatch (35.25 MiB) plus its Q6_K output weight (102.54 MiB). Engines that
  /// stream offloaded layers count the layers themselves instead: 0.
  func weightCopy(_ serving: Serving, layersInRAM: Int) -> Int64 {
    guard serving.profile.computesOffloadedLayersOnCPU, layersInRAM > 0 else { return 0 }
    return serving.summary.largestLayerTensorBytes.prefix(layersInRAM).max() ?? 0
  }

  func priceLayerOffload(
    _ serving: Serving,
    gpus: [Int],
    gpuLayers: [Int],
    occupied: Occupancy
  ) -> PricedLayout? {
    let request = serving.request
    let model = serving.model
    let onGPUs = gpuLayers.reduce(0, +)
    guard !gpus.isEmpty, gpus.count == gpuLayers.count, gpuLayers.allSatisfy({ $0 >= 0 }),
      (0...model.layers).contains(onGPUs), Set(gpus.map { graph.gpus[$0].host }).count == 1
    else { return nil }
    let shapes = gpus.map { offloadShape(serving, gpu: graph.gpus[$0], occupied: occupied) }
    let shape = shapes[0]
    let cpuLayers = model.layers - onGPUs
    let streams = shape.streams
    // Several GPUs only where the engine computes the CPU layers itself (llama.cpp).
    guard gpus.count == 1 || !streams else { return nil }
    let host = graph.hosts[graph.gpus[gpus[0]].host]
    let cpuBytes =
      shape.weights[0..<cpuLayers].reduce(0, +)
      + (streams ? 0 : shape.kv[0..<cpuLayers].reduce(0, +) + shape.embedding)
    var first = cpuLayers
    var stages: [Stage] = []
    var devices: [DeviceBudget] = []
    let copy = weightCopy(serving, layersInRAM: cpuLayers)
    for (position, index) in gpus.enumerated() {
      let range = first..<(first + gpuLayers[position])
      let last = position == gpus.count - 1
      devices.append(
        budget(
          graph.gpus[index],
          usable: shapes[position].usable,
          weights: shape.weights[range].reduce(0, +) + (last ? shape.head : 0) + (streams ? shape.embedding : 0),
          kv: streams ? shape.kv.reduce(0, +) : shape.kv[range].reduce(0, +),
          activation: shape.activation + (position == 0 ? copy : 0),
          overhead: shape.overhead
        )
      )
      stages.append(Stage(devices: [index], firstLayer: range.lowerBound, lastLayer: range.upperBound - 1))
      first = range.upperBound
    }
    // An offload plan ranks below any GPU-only plan that fits (it is slower), so it
    // is at best tight: it works, with the speed cost stated.
    var verdict = Verdict.tight
    var shortfall: Shortfall?
    let ram = host.ramBytes ?? 0
    let ramFits = !(ram > 0 && cpuBytes > ram)
    if !ramFits {
      verdict = .doesNotFit
      shortfall = .cpuRAM(neededBytes: cpuBytes, availableBytes: ram, host: nil)
    }
    // A plan with a GPU holding no decoder layer is not a GPU plan for it (and no
    // layout file can state an empty stage).
    if let empty = gpuLayers.firstIndex(of: 0) {
      verdict = .doesNotFit
      shortfall = .buffers(gpu: gpus[empty])
    }
    // llama.cpp runs the CPU layers on the CPU, reading them from RAM; the other
    // engines copy each offloaded layer to the GPU for every forward pass.
    let cards = gpus.map { rates[$0] }
    let ramRate = Double(ramBandwidth(host)) * CostModel.ramEfficiency
    let streamRate = streams ? min(Double(cards[0].pcieBytesPerSecond), ramRate) : ramRate
    // Routed experts no token of the step visits are not read, on the GPUs or in RAM.
    let untouched = 1 - serving.summary.touchedExpertFraction(tokens: request.concurrency)
    let experts = serving.summary.expertBytesPerLayer
    let cpuSkipped = Int64(Double(experts[0..<cpuLayers].reduce(0, +)) * untouched)
    var gpuRead = 0.0
    var gpuCompute = 0.0
    let flops = Double(request.context) * Double(serving.summary.flopsPerToken)
    for (position, stage) in stages.enumerated() {
      let skipped = Int64(Double(experts[stage.firstLayer..<(stage.lastLayer + 1)].reduce(0, +)) * untouched)
      gpuRead += CostModel.readSeconds(
        bytes: devices[position].usedBytes - devices[position].activationBytes - shape.overhead - skipped,
        bandwidth: cards[position].bandwidthBytesPerSecond,
        efficiency: calibration.hbmEfficiency
      )
      // Prefill: each GPU computes its share of the layers (llama.cpp also runs the
      // CPU layers' large batches on the first GPU, copying their weights: cpuRead).
      let share = Double(gpuLayers[position] + (position == 0 ? cpuLayers : 0)) / Double(max(model.layers, 1))
      gpuCompute += CostModel.computeSeconds(
        flops: flops * share,
        tflops: cards[position].bf16TFLOPS,
        efficiency: gemmEfficiency(request.weights)
      )
    }
    let cpuRead = Double(cpuBytes - cpuSkipped - (streams ? 0 : shape.embedding)) / streamRate
    let decode =
      gpuRead + cpuRead
      + Double(model.layers) * (CostModel.layerLatencySeconds + launchSeconds(serving, gpus: gpus))
    let prefill = gpuCompute + cpuRead
    var workload = workloadPlan(
      request,
      strategy: .offload,
      tensorParallel: 1,
      pipelineParallel: gpus.count,
      stages: stages,
      replicaDevices: [gpus],
      prediction: CostModel.prediction(
        decodeSeconds: decode,
        prefillSeconds: prefill,
        promptTokens: request.context,
        sequencesInFlight: request.concurrency,
        slots: request.concurrency,
        encoder: request.model.isEncoder,
        bound: streams ? "host-to-GPU copies of offloaded weights" : "CPU RAM bandwidth"
      )
    )
    workload.gpuLayers = onGPUs
    workload.cpuLayers = cpuLayers
    return priced(
      workload,
      devices: devices,
      cpuBytes: cpuBytes,
      ram: ramFits ? .tight : .doesNotFit,
      verdict: verdict,
      shortfall: shortfall
    )
  }

  // MARK: Expert offload

  /// What an expert-offload plan needs on its GPUs in all with no experts in RAM,
  /// and what each GPU can give it (usable less activations and overheads).
  func expertOffloadShape(
    _ serving: Serving,
    gpus: [Int],
    occupied: Occupancy
  ) -> (
    needed: Int64, kv: Int64, usable: [Int64], activation: Int64
  ) {
    let (weights, kv, activation) = singleGPUBytes(serving)
    let usable = gpus.map {
      usableBytes(graph.gpus[$0], profile: serving.profile, occupied: occupied) - activation
        - serving.profile.overheadBytes(groupSize: 1)
    }
    let kvTotal = kv.reduce(0, +)
    return (weights.reduce(0, +) + kvTotal + serving.summary.headBytes, kvTotal, usable, activation)
  }

  /// The fewest layers whose routed experts must go to CPU RAM for the rest to fit
  /// on `gpus` (all layers when even that is not enough).
  func fewestCPUExpertLayers(_ serving: Serving, gpus: [Int], occupied: Occupancy) -> Int {
    let shape = expertOffloadShape(serving, gpus: gpus, occupied: occupied)
    let usable = shape.usable.reduce(0, +)
    let experts = serving.summary.expertBytesPerLayer
    var count = 0
    var onGPU = shape.needed
    while count < serving.model.layers, onGPU > usable - weightCopy(serving, layersInRAM: count) {
      onGPU -= experts[count]
      count += 1
    }
    return count
  }

  func priceExpertOffload(
    _ serving: Serving,
    gpus: [Int],
    cpuExpertLayers: Int,
    occupied: Occupancy
  )
    -> PricedLayout?
  {
    let request = serving.request
    let model = serving.model
    guard let moe = model.moe, moe.routedExperts > 1, serving.profile.offloadsExperts,
      (0...model.layers).contains(cpuExpertLayers), let first = gpus.first
    else { return nil }
    let host = graph.hosts[graph.gpus[first].host]
    let profile = serving.profile
    let experts = serving.summary.expertBytesPerLayer
    let shape = expertOffloadShape(serving, gpus: gpus, occupied: occupied)
    let cpuBytes = experts[0..<cpuExpertLayers].reduce(0, +)
    let onGPU = shape.needed - cpuBytes
    // What stays on the GPUs is split in proportion to their memory (llama.cpp
    // --tensor-split); the KV cache goes with the layers, in the same shares.
    let copy = weightCopy(serving, layersInRAM: cpuExpertLayers)
    let shares = gpus.enumerated().map { offset, index in
      Double(usableBytes(graph.gpus[index], profile: serving.profile, occupied: occupied) - (offset == 0 ? copy : 0))
    }
    let totalShare = max(shares.reduce(0, +), 1)
    let devices = gpus.enumerated().map { offset, index in
      let gpu = graph.gpus[index]
      let part = Int64(Double(onGPU) * shares[offset] / totalShare)
      let kv = Int64(Double(shape.kv) * shares[offset] / totalShare)
      return budget(
        gpu,
        usable: usableBytes(gpu, profile: serving.profile, occupied: occupied),
        weights: part - kv,
        kv: kv,
        activation: shape.activation + (offset == 0 ? copy : 0),
        overhead: profile.overheadBytes(groupSize: 1)
      )
    }
    let ramFits = host.ramBytes.map { cpuBytes <= $0 } ?? true
    let gpusFit = onGPU <= shape.usable.reduce(0, +) - copy
    let rates = slowest(gpus)
    let ramRate = ramBandwidth(host)
    let activeFraction = serving.summary.touchedExpertFraction(tokens: request.concurrency)
    let gpuExperts = experts[cpuExpertLayers...].reduce(0, +)
    let gpuRead = onGPU - Int64(Double(gpuExperts) * (1 - activeFraction))
    let decode =
      CostModel.readSeconds(
        bytes: gpuRead,
        bandwidth: rates.bandwidthBytesPerSecond,
        efficiency: calibration.hbmEfficiency
      )
      + Double(cpuBytes) * activeFraction / (Double(ramRate) * CostModel.ramEfficiency)
      + Double(model.layers) * (CostModel.layerLatencySeconds + launchSeconds(serving, gpus: gpus))
    // Prefill: GPU compute for the whole prompt, plus copying the RAM-resident
    // experts to the GPUs once per ubatch (llama.cpp streams them).
    let batchTokens = max(profile.batchTokens, 1)
    let ubatches = Double((request.context + batchTokens - 1) / batchTokens)
    let prefill =
      CostModel.computeSeconds(
        flops: Double(request.context) * Double(serving.summary.flopsPerToken),
        tflops: gpus.map { self.rates[$0].bf16TFLOPS }.reduce(0, +),
        efficiency: gemmEfficiency(request.weights)
      )
      + ubatches * Double(cpuBytes) / Double(min(rates.pcieBytesPerSecond, ramRate))
    var workload = workloadPlan(
      request,
      strategy: .offload,
      tensorParallel: 1,
      stages: [Stage(devices: gpus, firstLayer: 0, lastLayer: model.layers - 1)],
      replicaDevices: [gpus],
      prediction: CostModel.prediction(
        decodeSeconds: decode,
        prefillSeconds: prefill,
        promptTokens: request.context,
        sequencesInFlight: request.concurrency,
        slots: request.concurrency,
        encoder: request.model.isEncoder,
        bound: "CPU RAM bandwidth (the routed experts of \(cpuExpertLayers) layers in RAM)"
      )
    )
    workload.gpuLayers = model.layers
    workload.cpuExpertLayers = cpuExpertLayers
    let fits = ramFits && gpusFit
    return priced(
      workload,
      devices: devices,
      cpuBytes: cpuBytes,
      ram: ramFits ? .tight : .doesNotFit,
      verdict: fits ? .tight : .doesNotFit,
      shortfall: fits
        ? nil
        : (ramFits
          ? .expertsInRAM
          : .cpuRAM(neededBytes: cpuBytes, availableBytes: host.ramBytes ?? 0, host: nil))
    )
  }

  // MARK: - Training

  /// Seconds a step spends on CPU offload, taken as not overlapped with compute
  /// (an upper bound: DeepSpeed overlaps part of the gradient copy with the
  /// backward pass). Optimizer offload: each GPU copies its gradient partition out
  /// (fp32, 4 bytes per trainable parameter) and its updated bf16 parameters back
  /// (2 bytes) over its PCIe link, and each node's CPU steps its share of the
  /// optimizer, reading fp32 parameter, gradient and both Adam moments (16 bytes)
  /// and writing parameter, moments and the bf16 copy (14 bytes) at RAM bandwidth.
  /// ZeRO-3 parameter offload adds each GPU fetching its partition of the weights
  /// from RAM for every forward and backward pass (and the recomputed forward of
  /// checkpointing) of every micro-batch. NVMe offload is not priced (0).
  func offloadStepSeconds(
    _ request: TrainingRequest,
    trainable: Int64,
    baseWeightBytes: Int64,
    gpus: [Int],
    nodes: Int
  ) -> Double {
    let setup = request.setup
    guard setup.offload == .cpu, setup.zeroStage >= 1, !gpus.isEmpty else { return 0 }
    let pcie = Double(max(slowest(gpus).pcieBytesPerSecond, 1))
    let dp = Double(gpus.count)
    let ram = gpus.map { Double(ramBandwidth(graph.hosts[graph.gpus[$0].host])) }.min() ?? 1
    var seconds = Double(trainable) / dp * 6 / pcie
    seconds += Double(trainable) / Double(max(nodes, 1)) * 30 / (ram * CostModel.ramEfficiency)
    if setup.zeroStage >= 3 {
      let passes = Double((setup.gradientCheckpointing ? 3 : 2) * max(request.gradientAccumulation, 1))
      seconds += passes * Double(baseWeightBytes) / dp / pcie
    }
    return seconds
  }

  /// Prices one training setup, data parallel over `gpus`: the memory model's
  /// per-GPU states (ZeRO sharding, offload), CPU RAM for offloaded states on each
  /// node, and the step time at the request's MFU.
  func price(_ placement: Placement, _ request: TrainingRequest, occupied: Occupancy) -> PricedLayout? {
    guard case .training(let gpus) = placement, !gpus.isEmpty, gpus.allSatisfy(graph.gpus.indices.contains) else {
      return nil
    }
    let model = request.model
    let dp = gpus.count
    let format: WeightFormat = request.setup.method == .qlora ? .nf4 : .float(.bf16)
    let estimate = MemoryModel.estimate(
      model: model,
      workload: Workload(
        mode: .training(request.setup),
        context: request.sequence,
        batch: request.microBatch,
        gpus: dp,
        nodes: Set(gpus.map { graph.gpus[$0].host }).count
      ),
      weights: .converted(format)
    )
    let hosts = Set(gpus.map { graph.gpus[$0].host })
    let cpuPerNode = estimate.cpuBytes * Int64(dp / max(hosts.count, 1)) / Int64(dp)
    let devices = gpus.map { index in
      let gpu = graph.gpus[index]
      return budget(
        gpu,
        usable: usableBytes(gpu, profile: EngineProfile.profile(.transformers), occupied: occupied),
        weights: estimate.weightBytesPerGPU,
        kv: 0,
        activation: estimate.activationBytes,
        overhead: estimate.overheadBytes,
        gradients: estimate.gradientBytesPerGPU,
        optimizer: estimate.optimizerBytesPerGPU
      )
    }
    var ramVerdict = Verdict.fits
    var shortfall: Shortfall?
    for host in hosts.sorted() where request.setup.offload != .nvme {
      guard let ram = graph.hosts[host].ramBytes, ram > 0 else { continue }
      if cpuPerNode > ram {
        ramVerdict = .doesNotFit
        shortfall = .cpuRAM(neededBytes: cpuPerNode, availableBytes: ram, host: graph.hosts[host].name)
      } else if Double(cpuPerNode) * DeepSpeedEstimator.bufferFactor > Double(ram) {
        // The states fit, but not with the pinned staging buffers DeepSpeed's
        // estimator allows for (1.5×): it may start and then run out of host RAM.
        ramVerdict = max(ramVerdict, .tight)
      }
    }
    // Step time: the slowest GPU sets the pace of synchronous data parallelism.
    let factor = CostModel.trainingFLOPsPerParameter(
      method: request.setup.method,
      checkpointing: request.setup.gradientCheckpointing
    )
    let tokensPerStep = Double(request.sequence * request.microBatch * request.gradientAccumulation * dp)
    let computeSeconds = CostModel.trainingStepSeconds(
      tokens: tokensPerStep,
      flopsPerParameter: factor,
      activeParameters: model.activeParameters,
      gpus: dp,
      tflops: slowest(gpus).bf16TFLOPS,
      mfu: request.mfu
    )
    let offloadSeconds = offloadStepSeconds(
      request,
      trainable: estimate.trainableParameters ?? model.parameters,
      baseWeightBytes: estimate.weightBytes,
      gpus: gpus,
      nodes: hosts.count
    )
    let stepSeconds = computeSeconds + offloadSeconds
    let bf16 = gpus.allSatisfy { graph.gpus[$0].hasBF16 }
    let training = TrainingPlan(
      method: request.setup.method,
      optimizer: request.setup.optimizer,
      trainer: request.trainer,
      zeroStage: request.setup.zeroStage,
      offload: request.setup.zeroStage >= 1 ? request.setup.offload : .none,
      gradientCheckpointing: request.setup.gradientCheckpointing,
      mixedPrecision: request.mixedPrecision ?? (bf16 ? "bf16" : "fp16"),
      sequence: request.sequence,
      microBatch: request.microBatch,
      gradientAccumulation: request.gradientAccumulation,
      globalBatch: request.microBatch * request.gradientAccumulation * dp,
      nodes: hosts.count,
      processesPerNode: dp / max(hosts.count, 1),
      trainableParameters: estimate.trainableParameters ?? model.parameters,
      loraRank: request.setup.method == .full ? nil : request.setup.loraRank,
      loraTargets: request.setup.method == .full ? nil : request.setup.loraTargets,
      offloadBytesPerNode: cpuPerNode,
      stepSeconds: stepSeconds,
      offloadSeconds: offloadSeconds,
      tokensPerSecond: stepSeconds > 0 ? tokensPerStep / stepSeconds : 0,
      mfu: request.mfu,
      flopsPerParameterPerToken: factor
    )
    let workload = WorkloadPlan(
      role: request.role,
      model: model.name,
      weights: .converted(format),
      strategy: .auto,
      tensorParallel: 1,
      pipelineParallel: 1,
      expertParallel: 1,
      dataParallel: dp,
      stages: [Stage(devices: [gpus[0]], firstLayer: 0, lastLayer: model.layers - 1)],
      replicaDevices: gpus.map { [$0] },
      gpuLayers: nil,
      cpuLayers: nil,
      cpuExpertLayers: nil,
      context: request.sequence,
      concurrency: request.microBatch,
      kvCache: nil,
      engine: .transformers,
      prediction: Prediction(
        prefillTokensPerSecond: 0,
        decodeTokensPerSecond: 0,
        aggregateDecodeTokensPerSecond: 0,
        timeToFirstTokenSeconds: 0,
        decodeBound: "training"
      ),
      training: training
    )
    var layout = priced(
      workload,
      devices: devices,
      cpuBytes: estimate.cpuBytes,
      ram: ramVerdict,
      verdict: ramVerdict,
      shortfall: shortfall
    )
    // States offloaded to NVMe are on disk, not in RAM: no CPU RAM verdict.
    if request.setup.offload == .nvme { layout.cpuVerdict = nil }
    return layout
  }
}

/// The running per-GPU budgets of several workloads placed one after another.
struct Ledger {
  /// Bytes each GPU already gives to the workloads recorded, for the next one.
  var occupied: Occupancy = [:]
  /// Each GPU's budget with every recorded workload added up.
  var budgets: [Int: DeviceBudget] = [:]

  /// Adds a placed workload: its bytes become occupied for the workloads placed
  /// after it, and each GPU's budget adds up every workload on it. A GPU's first
  /// budget is stated against the whole card (memory only other processes hold).
  mutating func record(_ priced: PricedLayout, graph: DeviceGraph) {
    for device in priced.devices {
      let before = occupied[device.index] ?? 0
      occupied[device.index, default: 0] += device.usedBytes
      if var existing = budgets[device.index] {
        existing.absorb(device)
        budgets[device.index] = existing
      } else {
        var fresh = device
        fresh.otherBytes = graph.gpus[device.index].memoryUsedBytes ?? 0
        fresh.usableBytes = device.usableBytes + before
        budgets[device.index] = fresh
      }
    }
  }

  /// The budgets of the GPUs used, by index.
  var usedDevices: [DeviceBudget] { budgets.values.sorted { $0.index < $1.index } }

  /// Every GPU's budget, idle ones included.
  func devices(of graph: DeviceGraph) -> [DeviceBudget] { usedDevices.includingIdleGPUs(of: graph) }
}
