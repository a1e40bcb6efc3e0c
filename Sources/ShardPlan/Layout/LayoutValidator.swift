import Foundation

/// Checks a layout in full against its topology and models: every problem is
/// listed (not only the first), with the file and line, and the per-GPU budget of
/// all workloads together decides the verdict.
public struct LayoutValidator: Sendable {
  /// Loads the layout’s models.
  package var models: ModelLoader
  /// Loads the layout’s topology.
  package var topologies: TopologyLoader

  /// A validator with these loaders.
  public init(models: ModelLoader, topologies: TopologyLoader) {
    self.models = models
    self.topologies = topologies
  }

  /// The outcome: findings, the budget (a plan of the layout as written), and the verdict.
  public struct Report: Sendable, Encodable {
    /// Every problem, in line order.
    public var findings: [Finding]
    /// The layout as written, priced; nil when it could not be read.
    public var plan: Plan?
    /// `does-not-fit` when there are findings or a GPU is over its budget.
    public var verdict: Verdict
    /// The topology the layout was checked on, and its models by role as loaded
    /// (before any conversion): what an emitter needs next to the plan.
    package var graph: DeviceGraph? = nil
    /// The layout’s models by role, as loaded.
    package var models: [String: ModelSpec] = [:]

    enum CodingKeys: String, CodingKey { case verdict, findings, plan, schemaVersion }

    /// The version of `validate --format json`'s shape (`Schemas/validate.schema.json`).
    package static let schemaVersion = 1

    /// Encodes the report with its `schemaVersion`.
    public func encode(to encoder: any Encoder) throws {
      var container = encoder.container(keyedBy: CodingKeys.self)
      try container.encode(Self.schemaVersion, forKey: .schemaVersion)
      try container.encode(verdict, forKey: .verdict)
      try container.encode(findings, forKey: .findings)
      try container.encodeIfPresent(plan, forKey: .plan)
    }

    /// `validate --format json`: `schemaVersion`, `verdict`, `findings[]` (`source`,
    /// `line`, `code`, `role`, `message`) and `plan` (a plan of the layout as written).
    public func jsonText() throws -> String {
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
      return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
    }
  }

  /// Validates layout text read from `source`; `topology` overrides the file's.
  public func validate(_ text: String, source: String, topology override: String? = nil) -> Report {
    var (layout, findings) = Layout.read(text, source: source)
    guard let layout else { return Report(findings: findings, plan: nil, verdict: .doesNotFit) }
    guard let topologyName = override ?? layout.topology else {
      findings.append(
        Finding(
          source: source,
          line: 1,
          code: .topology,
          message: "no topology: add `topology: NAME` or pass --topology"
        )
      )
      return Report(findings: findings, plan: nil, verdict: .doesNotFit)
    }
    let graph: DeviceGraph
    do {
      graph = try topologies.load([topologyName])
    } catch {
      findings.append(
        Finding(source: source, line: 1, code: .topology, message: "topology '\(topologyName)': \(error)")
      )
      return Report(findings: findings, plan: nil, verdict: .doesNotFit)
    }
    let planner: Planner
    do {
      planner = try Planner(graph: graph)
    } catch {
      findings.append(
        Finding(source: source, line: 1, code: .topology, message: "topology '\(topologyName)': \(error)")
      )
      return Report(findings: findings, plan: nil, verdict: .doesNotFit, graph: graph)
    }
    var workloads: [WorkloadPlan] = []
    var ledger = Ledger()
    var roles: Set<String> = []
    var loaded: [String: ModelSpec] = [:]
    var layoutVerdict = Verdict.fits
    var cpuBytes: Int64 = 0
    for workload in layout.workloads {
      func problem(_ message: String, _ code: Finding.Code = .structure, stage: Int? = nil) {
        // A problem of one stage points at the stage's own line.
        let line = stage.flatMap { workload.stageLines.indices.contains($0) ? workload.stageLines[$0] : nil }
        findings.append(
          Finding(source: source, line: line ?? workload.line, code: code, role: workload.role, message: message)
        )
      }
      if !roles.insert(workload.role).inserted { problem("role name used twice") }
      var spec: ModelSpec
      do {
        spec = try models.load(workload.model)
        loaded[workload.role] = spec
      } catch {
        problem("model '\(workload.model)': \(error)", .model)
        continue
      }
      if workload.training == nil, let refusal = Planner.unknownKVCache(spec) {
        problem(refusal, .model)
        continue
      }
      var weights = PlannedWeights.stored(Layout.storedLabel(spec))
      // A training workload's weights follow from its method (bf16, or NF4 for
      // QLoRA); the memory model converts the model it is given itself.
      if workload.training == nil, workload.weights != "as-stored",
        let format = WeightFormat(dtype: workload.weights) ?? WeightFormat(quant: workload.weights)
      {
        spec = spec.converted(to: format)
        weights = .converted(format)
      }
      let layers = spec.layers
      // Structure.
      let devicesUsed = workload.stages.flatMap(\.devices)
      if let bad = devicesUsed.first(where: { $0 < 0 || $0 >= graph.gpus.count }) {
        problem("GPU \(bad) does not exist; \(graph.name) has GPUs 0 to \(graph.gpus.count - 1)")
        continue
      }
      if Set(devicesUsed).count != devicesUsed.count { problem("a GPU appears in two stages of the same workload") }
      let replicaGPUs = workload.replicas.flatMap { $0 }
      if let bad = replicaGPUs.first(where: { $0 >= graph.gpus.count }) {
        problem("replicas: GPU \(bad) does not exist; \(graph.name) has GPUs 0 to \(graph.gpus.count - 1)")
        continue
      }
      if workload.stages.count != workload.pipelineParallel {
        problem("pipelineParallel is \(workload.pipelineParallel) but \(workload.stages.count) stages are listed")
      }
      let special = workload.gpuLayers != nil || workload.cpuExpertLayers != nil || workload.expertParallel > 1
      if workload.expertParallel > 1 {
        if spec.moe == nil { problem("expertParallel \(workload.expertParallel) but \(spec.name) has no experts") }
        if devicesUsed.count != workload.expertParallel {
          problem("expertParallel is \(workload.expertParallel) but the stage lists \(devicesUsed.count) GPU(s)")
        }
        if workload.tensorParallel * workload.dataParallel != workload.expertParallel {
          problem(
            "expertParallel must equal tensorParallel × dataParallel (\(workload.tensorParallel) × \(workload.dataParallel))"
          )
        }
      }
      if workload.cpuExpertLayers != nil && spec.moe == nil {
        problem("cpuExpertLayers but \(spec.name) has no experts")
      }
      if workload.expertParallel == 1 {
        if workload.replicas.count != workload.dataParallel - 1 {
          problem(
            "dataParallel is \(workload.dataParallel) but `replicas` lists \(workload.replicas.count) further replica(s); list the GPUs of replicas 1 to \(workload.dataParallel - 1), such as replicas: [[2, 3], [4, 5]]"
          )
        }
        for (index, replica) in workload.replicas.enumerated() where replica.count != devicesUsed.count {
          problem(
            "replica \(index + 1) lists \(replica.count) GPU(s) but replica 0 (the stages) uses \(devicesUsed.count)"
          )
        }
        let everyGPU = devicesUsed + replicaGPUs
        if Set(everyGPU).count != everyGPU.count { problem("a GPU appears in two replicas of the same workload") }
      } else if !workload.replicas.isEmpty {
        problem("`replicas` is for data-parallel copies; an expert-parallel group lists all its GPUs in its stage")
      }
      if !special {
        for (index, stage) in workload.stages.enumerated() where stage.devices.count != workload.tensorParallel {
          problem(
            "stage \(index) has \(stage.devices.count) GPU(s) but tensorParallel is \(workload.tensorParallel)",
            stage: index
          )
        }
        if spec.attention.heads > 0 && spec.attention.heads % workload.tensorParallel != 0 {
          problem(
            "tensorParallel \(workload.tensorParallel) does not divide the \(spec.attention.heads) attention heads"
          )
        }
        for stage in workload.stages {
          let hosts = Set(stage.devices.map { graph.gpus[$0].host })
          if hosts.count > 1 {
            problem(
              "stage on GPUs \(stage.devices) spans \(hosts.count) hosts; tensor parallelism stays inside one host"
            )
          }
        }
      }
      var expected = workload.gpuLayers.map { layers - $0 } ?? 0
      for (index, stage) in workload.stages.enumerated() {
        if stage.firstLayer != expected {
          problem(
            "stage \(index) starts at layer \(stage.firstLayer); layers must follow on from \(expected) with no gap or overlap",
            stage: index
          )
        }
        expected = stage.lastLayer + 1
      }
      if expected != layers {
        problem("the stages end at layer \(expected - 1) but \(spec.name) has layers 0 to \(layers - 1)")
      }
      guard !findings.contains(where: { $0.role == workload.role }), !workload.stages.isEmpty else {
        continue
      }
      // Memory of this workload as written.
      var request = InferenceRequest(
        model: spec,
        weights: weights,
        role: workload.role,
        context: workload.context,
        concurrency: workload.concurrency,
        kvCache: workload.kvCache,
        engine: workload.engine
      )
      if let fraction = workload.memoryFraction {
        if request.profile.memoryFraction == nil {
          problem("\(workload.engine.rawValue) takes no memoryFraction (it allocates what it needs)")
        } else {
          request.profile.memoryFraction = fraction
        }
      }
      if workload.training == nil, let refusal = request.contextRefusal {
        problem(refusal, .model)
        continue
      }
      // The cache as the engine allocates it, as the planner prices it.
      if workload.training == nil { request.model = request.model.asRun(by: workload.engine).0 }
      // bf16 on a card without it is refused by vLLM, SGLang and transformers.
      if workload.training == nil, workload.engine != .llamaCpp,
        let old = devicesUsed.map({ graph.gpus[$0] }).first(where: { !$0.hasBF16 }),
        request.kvCache == .bf16 || weights.label == "bf16"
      {
        problem(
          "GPU \(old.index) (\(old.name), compute capability \(old.computeCapability ?? "?")) has no bf16: use weights fp16 and kvCache f16"
        )
      }
      // llama.cpp splits whole layers (its emitter refuses tensor groups too).
      if workload.engine == .llamaCpp, workload.tensorParallel > 1 {
        problem(
          "llama.cpp splits whole layers over GPUs (--tensor-split), not tensors: tensorParallel must be 1; list one GPU per stage"
        )
      }
      // fp8 weights where the engine cannot run them as written.
      if workload.training == nil, Planner.hasFP8Weights(request),
        let old = devicesUsed.map({ graph.gpus[$0] }).first(where: { !$0.hasFP8 })
      {
        let card = "GPU \(old.index) (\(old.name), compute capability \(old.computeCapability ?? "?"))"
        if workload.engine == .transformers {
          problem(
            "\(card) has no fp8 matmuls: transformers dequantizes fp8 weights to bf16 at load; write weights bf16"
          )
        } else if (old.capability?.major ?? 8) < 8 {
          problem("\(card) has no fp8 kernels in \(workload.engine.rawValue) (FP8 Marlin needs 8.0); use other weights")
        }
      }
      // MXFP4 weights likewise (transformers below 7.5, vLLM and SGLang below 8.0).
      if workload.training == nil, Planner.hasMXFP4Weights(request),
        let old = devicesUsed.map({ graph.gpus[$0] }).first(where: { gpu in
          let version = gpu.capability.map { $0.major * 10 + $0.minor } ?? 90
          return workload.engine == .transformers ? version < 75 : version < 80
        })
      {
        problem(
          "GPU \(old.index) (\(old.name), compute capability \(old.computeCapability ?? "?")) has no MXFP4 kernels in \(workload.engine.rawValue); \(workload.engine == .transformers ? "transformers dequantizes them to bf16 at load: write weights bf16" : "use other weights")"
        )
      }
      let placement: Placement
      let job: WorkloadRequest
      if let training = workload.training {
        let gpus = devicesUsed + replicaGPUs
        if workload.tensorParallel != 1 || workload.pipelineParallel != 1 || workload.expertParallel != 1 {
          problem("a training workload is data parallel: tensorParallel, pipelineParallel and expertParallel must be 1")
        }
        let perHost = Dictionary(grouping: gpus) { graph.gpus[$0].host }.mapValues(\.count)
        if Set(perHost.values).count > 1 {
          problem(
            "training uses \(perHost.values.sorted().map(String.init).joined(separator: ", ")) GPUs on its hosts; torchrun starts the same number on each"
          )
        }
        if !training.trainer.zeroStages.contains(training.setup.zeroStage) {
          problem("FSDP has no ZeRO-\(training.setup.zeroStage); use zeroStage 0, 2 or 3 with trainer fsdp", .training)
        }
        if training.trainer == .deepspeed && training.setup.offload != .none && training.setup.optimizer != .adamw {
          problem(
            "ZeRO-Offload steps the optimizer with DeepSpeed's CPU Adam; use optimizer adamw or offload none",
            .training
          )
        }
        if training.trainer == .fsdp && training.setup.offload == .nvme {
          problem("FSDP offloads to CPU only; use offload cpu or trainer deepspeed", .training)
        }
        if training.mixedPrecision == "bf16",
          let old = gpus.first(where: {
            !graph.gpus[$0].hasBF16
          })
        {
          problem("GPU \(old) (\(graph.gpus[old].name)) has no bf16; use mixedPrecision fp16", .training)
        }
        var request = TrainingRequest(
          model: spec,
          role: workload.role,
          setup: training.setup,
          searchSetup: false,
          trainer: training.trainer,
          sequence: workload.context,
          microBatch: training.microBatch,
          gradientAccumulation: training.gradientAccumulation,
          mfu: training.mfu
        )
        request.mixedPrecision = training.mixedPrecision
        placement = .training(gpus: gpus)
        job = .training(request)
      } else if workload.expertParallel > 1 {
        let tp = max(workload.tensorParallel, 1)
        let groups = stride(from: 0, to: devicesUsed.count, by: tp).map {
          Array(devicesUsed[$0..<min($0 + tp, devicesUsed.count)])
        }
        placement = .experts(groups: groups)
        job = .inference(request)
      } else if let cpuExpertLayers = workload.cpuExpertLayers {
        placement = .expertOffload(gpus: devicesUsed, cpuExpertLayers: cpuExpertLayers)
        job = .inference(request)
      } else if workload.gpuLayers != nil {
        // llama.cpp splits its GPU layers over several GPUs, one stage each; the
        // engines that stream offloaded layers to the GPU use one.
        if workload.stages.contains(where: { $0.devices.count != 1 }) {
          problem("with gpuLayers every stage lists one GPU (layer offload has no tensor parallelism)")
        }
        if workload.stages.count > 1 && workload.engine != .llamaCpp {
          problem(
            "gpuLayers over \(workload.stages.count) GPUs: only llama.cpp splits offloaded layers over several GPUs; list one stage, or use engine llama.cpp"
          )
        }
        placement = .layerOffload(
          gpus: workload.stages.map { $0.devices.first ?? 0 },
          gpuLayers: workload.stages.map { $0.lastLayer - $0.firstLayer + 1 }
        )
        job = .inference(request)
      } else {
        // Further replicas have replica 0's shape: cut their GPU lists like its stages.
        let shape = workload.stages.map(\.devices.count)
        let others = workload.replicas.map { replica in
          shape.indices.map { stage in
            let start = shape[..<stage].reduce(0, +)
            return Array(replica[start..<(start + shape[stage])])
          }
        }
        for replica in others {
          for group in replica where Set(group.map { graph.gpus[$0].host }).count > 1 {
            problem("replica stage on GPUs \(group) spans several hosts; tensor parallelism stays inside one host")
          }
        }
        placement = .layers(
          stages: workload.stages.map(\.devices),
          layers: workload.stages.map { $0.firstLayer..<($0.lastLayer + 1) },
          replicas: others
        )
        job = .inference(request)
      }
      let candidate = planner.price(placement, job, occupied: ledger.occupied)
      guard let candidate else {
        problem("cannot be priced on these GPUs")
        continue
      }
      workloads.append(candidate.workload)
      // The planner's own verdict of the layout (an offload plan is at best tight).
      layoutVerdict = max(layoutVerdict, candidate.verdict)
      if candidate.verdict == .doesNotFit, let shortfall = candidate.shortfall, !shortfall.isOnOneGPU {
        problem(shortfall.description, .memory)  // CPU RAM and the like; GPUs over budget are listed below
      }
      cpuBytes += candidate.cpuBytes
      ledger.record(candidate, graph: graph)
    }
    let budgets = ledger.usedDevices
    var verdict = max(budgets.map(\.verdict).max() ?? .fits, layoutVerdict)
    for budget in budgets where budget.verdict == .doesNotFit {
      findings.append(
        Finding(
          source: source,
          line: nil,
          code: .memory,
          message: "GPU \(budget.index) (\(budget.name)) is over its budget by \(Units.formatBytes(-budget.freeBytes))"
        )
      )
    }
    if !findings.isEmpty { verdict = .doesNotFit }
    findings = findings.enumerated().sorted { a, b in
      (a.element.line ?? Int.max, a.offset) < (b.element.line ?? Int.max, b.offset)
    }.map(\.element)
    let plan = Plan(
      topology: graph.name,
      objective: .throughput,
      verdict: verdict,
      reasons: findings.isEmpty ? ["the layout fits"] : findings.map(\.description),
      fixes: [],
      workloads: workloads,
      devices: budgets,
      cpuBytes: cpuBytes,
      alternatives: [],
      assumptions: []
    )
    return Report(findings: findings, plan: plan, verdict: verdict, graph: graph, models: loaded)
  }
}
