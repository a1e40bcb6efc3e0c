/// How a training run shards its model states: DeepSpeed ZeRO or PyTorch FSDP
/// (both launched through accelerate or torchrun).
public enum Trainer: String, Hashable, Sendable, Codable, CaseIterable {
  case deepspeed
  case fsdp

  /// ZeRO stages the trainer has: FSDP shards nothing (`NO_SHARD`), gradients and
  /// optimizer states (`SHARD_GRAD_OP`, ZeRO-2) or everything (`FULL_SHARD`,
  /// ZeRO-3); it has no stage that shards optimizer states alone.
  package var zeroStages: [Int] { self == .fsdp ? [0, 2, 3] : [0, 1, 2, 3] }
}

/// One model to train, data parallel over the GPUs it may use.
public struct TrainingRequest: Hashable, Sendable {
  /// The model FLOPs utilization assumed when none is given: 0.4, typical of
  /// well-tuned large-scale training (an assumption; pass the measured value as `mfu`).
  public static let defaultMFU = 0.4

  /// The model to train.
  package var model: ModelSpec
  /// The role name.
  package var role: String
  /// Method, optimizer and, when `searchSetup` is false, the ZeRO stage, offload
  /// and checkpointing to use as given.
  package var setup: Workload.Training
  /// Choose the lightest ZeRO stage, offload and checkpointing that fit.
  package var searchSetup: Bool
  /// DeepSpeed ZeRO or FSDP.
  package var trainer: Trainer
  /// Tokens per sequence.
  package var sequence: Int
  /// Sequences per GPU per forward pass.
  package var microBatch: Int
  /// Micro-batches per optimizer step.
  package var gradientAccumulation: Int
  /// GPUs to use (global indices), or nil for all; `gpuCount` takes the first N.
  package var pinnedGPUs: [Int]?
  /// GPUs to use, the first N; nil for all.
  package var gpuCount: Int?
  /// Model-FLOPs utilisation assumed for the step time.
  package var mfu: Double
  /// `bf16` or `fp16`; nil to pick bf16 where every card has it.
  package var mixedPrecision: String? = nil

  /// A training request; the defaults search the setup for DeepSpeed with micro-batch 1.
  public init(
    model: ModelSpec,
    role: String = "default",
    setup: Workload.Training = Workload.Training(),
    searchSetup: Bool = true,
    trainer: Trainer = .deepspeed,
    sequence: Int,
    microBatch: Int = 1,
    gradientAccumulation: Int = 1,
    pinnedGPUs: [Int]? = nil,
    gpuCount: Int? = nil,
    mfu: Double = TrainingRequest.defaultMFU
  ) {
    self.model = model
    self.role = role
    self.setup = setup
    self.searchSetup = searchSetup
    self.trainer = trainer
    self.sequence = sequence
    self.microBatch = microBatch
    self.gradientAccumulation = gradientAccumulation
    self.pinnedGPUs = pinnedGPUs
    self.gpuCount = gpuCount
    self.mfu = mfu
  }
}

/// What a training plan decided, for the emitters: everything a DeepSpeed config,
/// an accelerate config and a torchrun line need.
public struct TrainingPlan: Hashable, Sendable, Codable {
  /// What trains.
  public var method: Workload.Training.Method
  /// The optimizer.
  package var optimizer: Workload.Training.Optimizer
  /// DeepSpeed ZeRO or FSDP.
  package var trainer: Trainer
  /// ZeRO stage 0–3 (FSDP: 0, 2 or 3).
  public var zeroStage: Int
  /// Where optimizer states (and at ZeRO-3 the parameters) live: none, cpu, nvme.
  package var offload: Workload.Training.Offload
  /// Whether activations are recomputed in the backward pass.
  package var gradientCheckpointing: Bool
  /// `bf16` on cards of compute capability 8.0 and newer, else `fp16`.
  package var mixedPrecision: String
  /// Tokens per sequence.
  package var sequence: Int
  /// Sequences per GPU per forward pass.
  package var microBatch: Int
  /// Micro-batches per optimizer step.
  package var gradientAccumulation: Int
  /// micro-batch × accumulation × data-parallel size (DeepSpeed's `train_batch_size`).
  package var globalBatch: Int
  /// Hosts taking part and processes (GPUs) on each.
  package var nodes: Int
  /// Processes (GPUs) on each host.
  package var processesPerNode: Int
  /// Parameters that get gradients.
  package var trainableParameters: Int64
  /// LoRA rank, for adapter training.
  package var loraRank: Int?
  /// LoRA target modules, for adapter training.
  package var loraTargets: [String]?
  /// Bytes of offloaded states each node holds (in CPU RAM, or on NVMe for `nvme`).
  package var offloadBytesPerNode: Int64
  /// Seconds per optimizer step, at `mfu`, offload included.
  public var stepSeconds: Double
  /// Of `stepSeconds`, what CPU offload adds: PCIe copies and the CPU optimizer
  /// step (`Planner.offloadStepSeconds`); 0 without CPU offload.
  package var offloadSeconds: Double = 0
  /// Tokens per second over all GPUs.
  public var tokensPerSecond: Double
  /// Model-FLOPs utilisation assumed.
  package var mfu: Double
  /// FLOPs per trained token per active parameter: 6 (full), 4 (adapters only:
  /// no weight gradients of the frozen base), plus 2 with checkpointing (a second
  /// forward pass).
  package var flopsPerParameterPerToken: Int
}

extension TrainingPlan {
  /// FSDP's `fsdp_sharding_strategy` for the plan's stage.
  package var fsdpShardingStrategy: String {
    switch zeroStage {
    case 3: "FULL_SHARD"
    case 2: "SHARD_GRAD_OP"
    default: "NO_SHARD"
    }
  }
}

extension Planner {
  /// Plans a training run: data parallel over the GPUs (the same number on every
  /// host, as torchrun needs), with the ZeRO stage, offload and checkpointing
  /// searched from the lightest (fastest) to the heaviest unless given.
  public func planTraining(_ request: TrainingRequest) -> Plan {
    let (gpus, layoutNote) = trainingGPUs(request)
    guard !gpus.isEmpty else {
      return Plan.empty(
        topology: graph.name,
        objective: objective,
        reason: graph.gpus.isEmpty ? "the topology has no GPU" : "no GPU is left to train on"
      )
    }
    // Every setup is priced, offload transfers included; the one chosen is the
    // best verdict, then the fastest step, then the lightest (first listed).
    var tried: [PricedLayout] = []
    var chosen: PricedLayout?
    for setup in setups(request) {
      var attempt = request
      attempt.setup = setup
      guard let candidate = evaluateTraining(attempt, gpus: gpus) else { continue }
      tried.append(candidate)
      if candidate.verdict != .doesNotFit, chosen.map({ Self.fasterTraining(candidate, than: $0) }) ?? true {
        chosen = candidate
      }
    }
    guard let best = chosen ?? tried.last ?? evaluateTraining(request, gpus: gpus) else {
      return Plan.empty(topology: graph.name, objective: objective, reason: "the training GPUs are not in the topology")
    }
    var reasons: [String] = layoutNote.map { [$0] } ?? []
    let headroom = best.devices.map(\.freeBytes).min() ?? 0
    let summary = describe(best.workload)
    switch best.verdict {
    case .fits: reasons.append("\(summary) fits; tightest GPU keeps \(Units.formatBytes(headroom)) free")
    case .tight:
      reasons.append(
        "\(summary) fits with under \(Int(tightFraction * 100))% of a GPU free: \(Units.formatBytes(headroom))"
      )
    case .doesNotFit:
      reasons.append(
        "no training setup fits: the closest, \(summary), \(best.shortfall?.description ?? "is short of memory")"
      )
    }
    var fixes: [Fix] = []
    if best.verdict == .doesNotFit {
      fixes = trainingFixes(request, gpus: gpus)
    }
    let others = tried.filter { $0.workload != best.workload }
    let alternatives = (others.filter { $0.verdict != .doesNotFit } + others.filter { $0.verdict == .doesNotFit })
      .prefix(5).map { candidate in
        Alternative(
          summary: describe(candidate.workload),
          verdict: candidate.verdict,
          aggregateDecodeTokensPerSecond: 0,
          whyNot: candidate.shortfall?.description ?? Self.trainingWhyNot(candidate, versus: best)
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
      assumptions: [
        "step time: \(best.workload.training?.flopsPerParameterPerToken ?? 6) FLOPs per active parameter per token at \(Int(request.mfu * 100))% of the slowest GPU's dense bf16 peak (an assumed MFU; pass --mfu)",
        "gradient all-reduce and ZeRO collectives are taken as overlapped with compute; CPU offload's PCIe copies and CPU optimizer step are added, not overlapped; NVMe offload transfers are not priced",
        "memory: the training model of `estimate --train` (Korthikanti et al. activations, ZeRO sharding)",
      ]
    )
  }

  /// The GPUs of a training run, host by host, with a note when hosts had to be
  /// evened out.
  package func trainingGPUs(_ request: TrainingRequest) -> ([Int], String?) {
    let permitted = request.pinnedGPUs.map(Set.init)
    var perHost = graph.hosts.map { host in
      graph.gpus.filter { $0.host == host.index && (permitted?.contains($0.index) ?? true) }.map(\.index)
    }.filter { !$0.isEmpty }
    guard let fewest = perHost.map(\.count).min() else { return ([], nil) }
    var note: String?
    if let count = request.gpuCount {
      if count <= perHost[0].count {
        return (Array(perHost[0].prefix(count)), nil)
      }
      let hosts = min((count + fewest - 1) / fewest, perHost.count)
      perHost = Array(perHost.prefix(hosts))
      if hosts * fewest != count {
        note = "\(count) GPUs do not split evenly over hosts of \(fewest); using \(hosts) × \(fewest)"
      }
    }
    if perHost.contains(where: { $0.count != fewest }) {
      note = "hosts have different GPU counts; torchrun starts the same number on each, so \(fewest) per host are used"
    }
    return (perHost.flatMap { $0.prefix(fewest) }, note)
  }

  /// Setups to try, lightest first.
  func setups(_ request: TrainingRequest) -> [Workload.Training] {
    guard request.searchSetup else { return [request.setup] }
    var list: [Workload.Training] = []
    let single = (request.gpuCount ?? request.pinnedGPUs?.count ?? graph.gpus.count) == 1
    for checkpointing in request.setup.gradientCheckpointing ? [true] : [false, true] {
      for zero in request.trainer.zeroStages {
        for offload in [Workload.Training.Offload.none, .cpu] {
          if offload == .cpu && zero < (request.trainer == .fsdp ? 3 : 2) { continue }
          // ZeRO-Offload steps the optimizer with DeepSpeed's CPU Adam: AdamW only.
          if offload == .cpu && request.trainer == .deepspeed && request.setup.optimizer != .adamw { continue }
          if single && zero > 0 && offload == .none { continue }
          var setup = request.setup
          setup.zeroStage = zero
          setup.offload = offload
          setup.gradientCheckpointing = checkpointing
          list.append(setup)
        }
      }
    }
    return list
  }

  /// Whether `a` is a better training setup than `b`: a better verdict, else a
  /// faster step (offload transfers included). Equal ones keep the earlier, lighter.
  static func fasterTraining(_ a: PricedLayout, than b: PricedLayout) -> Bool {
    if a.verdict != b.verdict { return a.verdict < b.verdict }
    return (a.workload.training?.stepSeconds ?? .infinity) < (b.workload.training?.stepSeconds ?? .infinity)
  }

  /// Why a setup that fits was not chosen over `best`, in numbers.
  static func trainingWhyNot(_ candidate: PricedLayout, versus best: PricedLayout) -> String {
    let a = candidate.workload.training?.stepSeconds ?? 0
    let b = best.workload.training?.stepSeconds ?? 0
    if candidate.verdict != best.verdict {
      return "\(candidate.verdict.rawValue), the chosen setup \(best.verdict.rawValue)"
    }
    if a > b {
      return "slower: \(Units.formatDecimal(a, places: 2)) s per step against \(Units.formatDecimal(b, places: 2))"
    }
    return "as fast, and a lighter setup came first"
  }

  /// Prices a setup on `gpus`.
  func evaluateTraining(_ request: TrainingRequest, gpus: [Int]) -> PricedLayout? {
    price(.training(gpus: gpus), request, occupied: [:])
  }

  /// Changes that make a training run fit, each checked by applying it and
  /// planning again.
  func trainingFixes(_ request: TrainingRequest, gpus: [Int]) -> [Fix] {
    var found: [Fix] = []
    func fits(_ changed: TrainingRequest?) -> PricedLayout? {
      guard let changed else { return nil }
      for setup in setups(changed) {
        var attempt = changed
        attempt.setup = setup
        if let candidate = evaluateTraining(attempt, gpus: gpus), candidate.verdict != .doesNotFit {
          return candidate
        }
      }
      return nil
    }
    if !request.searchSetup, let candidate = fits(Fix(.searchTrainingSetup, summary: "").apply(to: request)) {
      found.append(Fix(.searchTrainingSetup, summary: "use \(describe(candidate.workload))"))
    }
    if request.setup.method != .qlora {
      for method in [Workload.Training.Method.lora, .qlora] where method != request.setup.method {
        let change = Fix.Change.trainingMethod(method)
        if let candidate = fits(Fix(change, summary: "").apply(to: request)) {
          found.append(Fix(change, summary: "train with \(describe(candidate.workload))"))
        }
      }
    }
    if request.sequence > 512 {
      let low = Self.largest(in: 0...(request.sequence - 1)) { sequence in
        fits(Fix(.context(sequence), summary: "").apply(to: request)) != nil
      }
      if low >= 1 { found.append(Fix(.context(low), summary: "shorten sequences to \(low) tokens")) }
    }
    if found.isEmpty { found.append(Fix(.addGPUs, summary: "add GPUs: no single change above makes it fit")) }
    return found
  }
}
