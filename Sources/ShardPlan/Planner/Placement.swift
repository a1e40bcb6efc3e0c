/// Where the parts of one workload go: the layout that ``Planner/price(_:for:)``
/// prices. Every strategy enumerates placements; the validator builds one from a
/// layout file; both hand it to the same pricing function.
public enum Placement: Hashable, Sendable {
  /// Decoder layers in pipeline stages, each stage tensor-parallel over its GPUs.
  /// `stages` lists replica 0's tensor-parallel groups in stage order, `layers`
  /// the decoder layers of each stage, and `replicas` every further data-parallel
  /// copy in the same shape (one GPU list per stage).
  case layers(stages: [[Int]], layers: [Range<Int>], replicas: [[[Int]]])
  /// Expert parallelism (vLLM `--enable-expert-parallel`, SGLang `--ep-size`):
  /// attention tensor-parallel inside each group and data-parallel over the
  /// groups, the routed experts spread over all their GPUs.
  case experts(groups: [[Int]])
  /// The GPUs hold the last decoder layers, `gpuLayers[k]` consecutive ones on
  /// `gpus[k]` in order, the last GPU also the output head; the first layers stay
  /// in CPU RAM (llama.cpp `-ngl` with `--tensor-split`, accelerate's `"cpu"`
  /// modules, vLLM and SGLang `--cpu-offload-gb`). Several GPUs only for llama.cpp,
  /// which splits its GPU layers over them.
  case layerOffload(gpus: [Int], gpuLayers: [Int])
  /// Every layer on `gpus` (split in proportion to their memory) except the routed
  /// experts of the first `cpuExpertLayers` layers, which stay in CPU RAM
  /// (llama.cpp `--n-cpu-moe`).
  case expertOffload(gpus: [Int], cpuExpertLayers: Int)
  /// Data-parallel training over `gpus`, host by host.
  case training(gpus: [Int])

  /// Every GPU the placement uses, in its order.
  public var gpus: [Int] {
    switch self {
    case .layers(let stages, _, let replicas): stages.flatMap { $0 } + replicas.flatMap { $0.flatMap { $0 } }
    case .experts(let groups): groups.flatMap { $0 }
    case .layerOffload(let gpus, _): gpus
    case .expertOffload(let gpus, _): gpus
    case .training(let gpus): gpus
    }
  }
}

/// What one workload is asked to do: serve (``InferenceRequest``) or train
/// (``TrainingRequest``).
public enum WorkloadRequest: Hashable, Sendable {
  /// Serve a model.
  case inference(InferenceRequest)
  /// Train a model.
  case training(TrainingRequest)
}

/// A placement with its price: the workload as a plan reports it, every GPU's
/// budget, the verdict of the one budget rule, and why it falls short.
public struct PricedLayout: Hashable, Sendable {
  /// The workload's layout, prediction, CPU bytes and per-GPU shares.
  public var workload: WorkloadPlan
  /// The budget of each GPU the placement uses, in placement order.
  public var devices: [DeviceBudget]
  /// The worst GPU's verdict, or does-not-fit when CPU RAM is short; a plan that
  /// keeps weights in CPU RAM is at best `tight` (it works, at the speed stated).
  public var verdict: Verdict
  /// What is short when the layout does not fit.
  public var shortfall: Shortfall?
  /// The verdict on CPU RAM when the layout keeps bytes there: `tight` when they
  /// fit (the plan works, at the speed stated), does-not-fit when RAM is short;
  /// nil when nothing is off the GPUs.
  public var cpuVerdict: Verdict? = nil

  /// Bytes the workload keeps off its GPUs.
  public var cpuBytes: Int64 { workload.cpuBytes }
  /// GPUs the workload occupies.
  package var gpuCount: Int { devices.count }
  /// The fewest bytes free on any of its GPUs (negative: short by that much).
  public var headroomBytes: Int64 { devices.map(\.freeBytes).min() ?? 0 }
}

/// Why a priced layout does not fit.
public enum Shortfall: Hashable, Sendable, CustomStringConvertible {
  /// A GPU needs `bytes` more than it can give.
  case gpu(index: Int, bytes: Int64)
  /// Not one decoder layer fits on the GPU of an offload plan beside the output
  /// head and the buffers.
  case buffers(gpu: Int)
  /// The host's CPU RAM cannot hold what is offloaded to it (`host` names it
  /// for training, whose offloaded states are counted per node).
  case cpuRAM(neededBytes: Int64, availableBytes: Int64, host: String?)
  /// An expert-offload plan does not fit even with every layer's routed experts in RAM.
  case expertsInRAM

  /// Whether one GPU's budget says it all (the validator lists those by GPU).
  package var isOnOneGPU: Bool {
    if case .gpu = self { return true }
    return false
  }

  /// The text reports print.
  public var description: String {
    switch self {
    case .gpu(let index, let bytes): "GPU\(index) is short by \(Units.formatBytes(bytes))"
    case .buffers(let gpu): "not one decoder layer fits on GPU\(gpu) beside the output head and buffers"
    case .cpuRAM(let needed, let available, let host?):
      "offload needs \(Units.formatBytes(needed)) of CPU RAM on \(host), which has \(Units.formatBytes(available))"
    case .cpuRAM(let needed, let available, nil):
      "needs \(Units.formatBytes(needed)) of CPU RAM, the host has \(Units.formatBytes(available))"
    case .expertsInRAM: "does not fit even with every layer's experts in CPU RAM"
    }
  }
}
