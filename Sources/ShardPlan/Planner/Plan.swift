/// Fits, fits with little room, or does not fit.
public enum Verdict: String, Hashable, Sendable, Codable, Comparable {
  case fits
  case tight
  case doesNotFit = "does-not-fit"

  var rank: Int {
    switch self {
    case .fits: 0
    case .tight: 1
    case .doesNotFit: 2
    }
  }

  /// Orders by rank, best first.
  public static func < (lhs: Verdict, rhs: Verdict) -> Bool { lhs.rank < rhs.rank }
}

/// How a workload is split.
public enum Strategy: String, Hashable, Sendable, Codable, CaseIterable {
  case auto, tensor, pipeline, expert, role, offload
}

/// What the search optimises.
public enum Objective: String, Hashable, Sendable, Codable, CaseIterable {
  case throughput, latency
  case longestContext = "longest-context"
  case fewestGPUs = "fewest-gpus"
}

/// A pipeline stage: the GPUs of its tensor-parallel group and its layers.
public struct Stage: Hashable, Sendable, Codable {
  /// Global GPU indices.
  public var devices: [Int]
  /// First decoder layer (inclusive).
  public var firstLayer: Int
  /// Last decoder layer (inclusive).
  public var lastLayer: Int
}

/// Predicted speed.
public struct Prediction: Hashable, Sendable, Codable {
  /// Prompt tokens per second for one prompt of the context length.
  public var prefillTokensPerSecond: Double
  /// Output tokens per second of one sequence at the target concurrency.
  public var decodeTokensPerSecond: Double
  /// Output tokens per second over all sequences and replicas.
  public var aggregateDecodeTokensPerSecond: Double
  /// Time to first token for a prompt of the context length, seconds.
  public var timeToFirstTokenSeconds: Double
  /// What bounds decode (`HBM bandwidth`, `PCIe all-reduce`, `CPU RAM bandwidth` …).
  package var decodeBound: String
  /// Encoders only: prompt tokens encoded per second over the whole deployment
  /// (every copy with a sequence encoding at once); nil for models that decode.
  package var encodeTokensPerSecond: Double? = nil

  /// What the throughput objective ranks: encoding tokens/s for an encoder, else
  /// aggregate decode tokens/s.
  package var throughput: Double { encodeTokensPerSecond ?? aggregateDecodeTokensPerSecond }
  /// What the latency objective ranks: a sequence's decode rate, or for an encoder
  /// how many sequences one copy encodes per second.
  package var sequenceSpeed: Double {
    encodeTokensPerSecond == nil
      ? decodeTokensPerSecond : (timeToFirstTokenSeconds > 0 ? 1 / timeToFirstTokenSeconds : 0)
  }
}

/// One workload's layout.
public struct WorkloadPlan: Hashable, Sendable, Codable {
  /// The role name.
  public var role: String
  /// The model’s name as given.
  public var model: String
  /// The weights as planned (JSON key `weightFormat`: their label).
  public var weights: PlannedWeights
  /// How it is split.
  public var strategy: Strategy
  /// GPUs of each tensor-parallel group.
  public var tensorParallel: Int
  /// Pipeline stages.
  public var pipelineParallel: Int
  /// GPUs the routed experts are spread over (1: none).
  public var expertParallel: Int
  /// Copies of the model serving at once (replicas or DP ranks).
  public var dataParallel: Int
  /// Replica 0’s stages in order.
  public var stages: [Stage]
  /// The GPUs of every data-parallel replica, replica 0 (the stages) first; each
  /// lists its GPUs in stage order, the stages' devices concatenated. Expert-parallel
  /// and offload plans have one entry.
  package var replicaDevices: [[Int]] = []
  /// Layers on GPUs and in CPU RAM when offloading (llama.cpp `-ngl`).
  public var gpuLayers: Int?
  /// Decoder layers kept in CPU RAM, when offloading whole layers.
  package var cpuLayers: Int?
  /// Layers whose routed experts live in CPU RAM (llama.cpp `--n-cpu-moe`).
  package var cpuExpertLayers: Int?
  /// Tokens per sequence (training: the sequence length).
  public var context: Int
  /// Sequences at once (training: the micro-batch).
  public var concurrency: Int
  /// The KV cache type (JSON key `kvCacheType`); nil for training, which keeps none.
  public var kvCache: KVCacheType?
  /// The engine that runs it.
  public var engine: Engine
  /// Predicted speed (zeros for training: see `training`).
  public var prediction: Prediction
  /// `VLLM_PP_LAYER_PARTITION` when the stages differ from vLLM's default split.
  package var vllmLayerPartition: String? = nil
  /// Expert-parallel plans: the busiest GPU's expert load over the mean (1 = even),
  /// averaged over MoE layers, after EPLB placement.
  package var expertLoadImbalance: Double? = nil
  /// Expert-parallel plans: replica slots for hot experts.
  package var redundantExperts: Int? = nil
  /// The share of each card the engine was planned to take (vLLM's
  /// `--gpu-memory-utilization`, SGLang's `--mem-fraction-static`); nil for engines
  /// that allocate what they need.
  package var memoryFraction: Double? = nil
  /// Recurrent state one sequence holds over the whole model (Mamba, Gated DeltaNet
  /// layers), fixed whatever the context; counted in the GPUs' KV cache bytes.
  /// Absent for models without recurrent layers.
  package var recurrentStateBytesPerSequence: Int64? = nil
  /// Training plans: the setup, batch sizes and step time (nil for inference).
  public var training: TrainingPlan? = nil
  /// Bytes this workload keeps off its GPUs: offloaded layers or experts in CPU
  /// RAM, or a training run's offloaded states (CPU RAM or NVMe, all nodes together).
  package var cpuBytes: Int64 = 0
  /// This workload's own memory on each of its GPUs, by GPU index — what an
  /// emitter sizes an engine's share of a card by when several workloads share it.
  package var gpuShares: [GPUShare] = []

  enum CodingKeys: String, CodingKey {
    case role, model, strategy, tensorParallel, pipelineParallel, expertParallel, dataParallel, stages
    case replicaDevices, gpuLayers, cpuLayers, cpuExpertLayers, context, concurrency, engine, prediction
    case vllmLayerPartition, expertLoadImbalance, redundantExperts, training, cpuBytes, gpuShares
    case recurrentStateBytesPerSequence, memoryFraction
    case weights = "weightFormat"
    case kvCache = "kvCacheType"
  }
}

/// One workload's memory on one GPU, bytes.
package struct GPUShare: Hashable, Sendable, Codable {
  /// The GPU’s index.
  package var gpu: Int
  /// Bytes used: the sum of the parts.
  package var usedBytes: Int64
  /// Weights.
  package var weightBytes: Int64
  /// KV cache.
  package var kvCacheBytes: Int64
}

extension WorkloadPlan {
  /// The layout in words, as plans state it: degrees and GPUs, offload, or the
  /// training setup.
  package var layoutSummary: String {
    let gpus = stages.flatMap(\.devices).map(String.init).joined(separator: ",")
    if let training {
      var parts = ["\(training.method.rawValue) training"]
      parts.append(
        training.trainer == .fsdp ? "FSDP \(training.fsdpShardingStrategy)" : "DeepSpeed ZeRO-\(training.zeroStage)"
      )
      if training.offload != .none { parts.append("\(training.offload.rawValue) offload") }
      if training.gradientCheckpointing { parts.append("gradient checkpointing") }
      let hosts = training.nodes > 1 ? " (\(training.nodes) nodes × \(training.processesPerNode))" : ""
      return parts.joined(separator: ", ") + " on \(dataParallel) GPU(s)\(hosts)"
    }
    if let experts = cpuExpertLayers {
      return "GPU \(gpus) with the routed experts of \(experts) layers in CPU RAM (--n-cpu-moe \(experts))"
    }
    if strategy == .expert {
      return "EP \(expertParallel) (TP \(tensorParallel) × DP \(dataParallel) attention) on GPU \(gpus)"
    }
    if let cpu = cpuLayers, cpu > 0 {
      return "GPU \(gpus) with \(gpuLayers ?? 0) layers, \(cpu) layers in CPU RAM"
    }
    var parts = ["TP \(tensorParallel)", "PP \(pipelineParallel)"]
    if dataParallel > 1 { parts.append("DP \(dataParallel)") }
    let replicas = dataParallel > 1 ? " (one replica; \(dataParallel) in all)" : ""
    return parts.joined(separator: " × ") + " on GPU \(gpus)" + replicas
  }

  /// llama.cpp's `-ngl` for an offload plan: the GPU layers plus one slot for the
  /// output layer, which llama.cpp counts among `n_layer + 1` slots and places on
  /// the GPU first (`i_gpu_start = n_layer + 1 − n_gpu_layers`, llama-model.cpp).
  package var llamaCppGPULayerSlots: Int? { gpuLayers.map { $0 + 1 } }
}

/// One GPU's budget.
public struct DeviceBudget: Hashable, Sendable, Codable {
  /// The GPU’s index.
  public var index: Int
  /// The GPU’s name.
  package var name: String
  /// The card’s memory as CUDA reports it: nvidia-smi's total less the driver's
  /// reserved memory, when the topology states it (``GPU/allocatableBytes``).
  public var capacityBytes: Int64
  /// What the engine may use (its memory fraction applied, minus memory others hold).
  public var usableBytes: Int64
  /// Bytes used: the sum of the parts.
  public var usedBytes: Int64
  /// Weights.
  public var weightBytes: Int64
  /// KV cache.
  public var kvCacheBytes: Int64
  /// Activations and compute buffers.
  public var activationBytes: Int64
  /// CUDA context, workspaces, CUDA graphs and NCCL buffers.
  public var overheadBytes: Int64
  /// Memory other processes already hold.
  package var otherBytes: Int64
  /// Usable bytes left (negative: short by that much).
  public var freeBytes: Int64
  /// The verdict.
  public var verdict: Verdict
  /// Training: gradients and optimizer states this GPU holds after ZeRO sharding.
  package var gradientBytes: Int64 = 0
  /// Training: optimizer states on this GPU.
  package var optimizerBytes: Int64 = 0

  /// JSON names: the card's memory is `memoryBytes`, as in every other output.
  enum CodingKeys: String, CodingKey {
    case index, name, usableBytes, usedBytes, weightBytes, kvCacheBytes, activationBytes, overheadBytes
    case otherBytes, freeBytes, verdict, gradientBytes, optimizerBytes
    case capacityBytes = "memoryBytes"
  }
}

extension DeviceBudget {
  /// Adds another workload's use of the same GPU: its bytes add up, the free
  /// memory is the later workload's view (which already counted this one), and the
  /// worse verdict stands.
  mutating func absorb(_ other: DeviceBudget) {
    usedBytes += other.usedBytes
    weightBytes += other.weightBytes
    kvCacheBytes += other.kvCacheBytes
    activationBytes += other.activationBytes
    overheadBytes += other.overheadBytes
    gradientBytes += other.gradientBytes
    optimizerBytes += other.optimizerBytes
    freeBytes = other.freeBytes
    verdict = max(verdict, other.verdict)
  }

  /// The budget of a GPU no workload uses: all of it free except what other
  /// processes already hold.
  init(idle gpu: GPU) {
    let capacity = gpu.allocatableBytes ?? 0
    let other = gpu.memoryUsedBytes ?? 0
    self.init(
      index: gpu.index,
      name: gpu.name,
      capacityBytes: capacity,
      usableBytes: capacity - other,
      usedBytes: 0,
      weightBytes: 0,
      kvCacheBytes: 0,
      activationBytes: 0,
      overheadBytes: 0,
      otherBytes: other,
      freeBytes: capacity - other,
      verdict: .fits
    )
  }
}

extension [DeviceBudget] {
  /// These budgets plus an idle one for every other GPU of `graph`, by index.
  func includingIdleGPUs(of graph: DeviceGraph) -> [DeviceBudget] {
    var all = self
    for gpu in graph.gpus where !all.contains(where: { $0.index == gpu.index }) {
      all.append(DeviceBudget(idle: gpu))
    }
    return all.sorted { $0.index < $1.index }
  }
}

/// A candidate that was not chosen, with why.
public struct Alternative: Hashable, Sendable, Codable {
  /// The layout in words.
  public var summary: String
  /// The verdict.
  public var verdict: Verdict
  /// Its output tokens per second over all sequences.
  public var aggregateDecodeTokensPerSecond: Double
  /// Why it was not chosen.
  public var whyNot: String
}

/// The planner's answer.
public struct Plan: Hashable, Sendable, Codable {
  /// The version of `--format json`’s shape; bumped when it changes.
  package static let schemaVersion = 4
  /// The topology’s name.
  package var topology: String
  /// What the search optimised.
  public var objective: Objective
  /// The verdict.
  public var verdict: Verdict
  /// Why the verdict, in sentences.
  public var reasons: [String]
  /// Smallest changes that would make a plan that does not fit, fit; each was
  /// checked by planning again.
  public var fixes: [Fix]
  /// Each workload’s layout, in the order asked.
  public var workloads: [WorkloadPlan]
  /// Every GPU’s budget, idle ones included, by index.
  public var devices: [DeviceBudget]
  /// CPU RAM used by offloaded layers, bytes.
  public var cpuBytes: Int64
  /// The CPU RAM of the hosts whose GPUs the workloads use, bytes, when something
  /// is offloaded and the topology knows it.
  package var cpuRAMBytes: Int64? = nil
  /// The verdict on CPU RAM when something is offloaded (nil otherwise). The plan's
  /// verdict is the worst of this and its GPUs' verdicts.
  package var cpuVerdict: Verdict? = nil
  /// Layouts that were not chosen, best first.
  public var alternatives: [Alternative]
  /// What the numbers assume.
  public var assumptions: [String]
}

extension Plan {
  /// A plan with no workload: nothing could be placed, for `reason`.
  static func empty(topology: String, objective: Objective, reason: String) -> Plan {
    Plan(
      topology: topology,
      objective: objective,
      verdict: .doesNotFit,
      reasons: [reason],
      fixes: [],
      workloads: [],
      devices: [],
      cpuBytes: 0,
      alternatives: [],
      assumptions: []
    )
  }
}
