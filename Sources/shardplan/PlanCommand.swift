import ArgumentParser
import Foundation
import ShardPlan
import ShardPlanHub
import ShardPlanHwloc

extension Strategy: ExpressibleByArgument {}
extension Objective: ExpressibleByArgument {}

struct PlanCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "plan",
    abstract: "Split models over a topology's GPUs: layout, per-GPU budget, predicted speed, verdict, launch files.",
    discussion: """
      Serving: tensor, pipeline, expert and data parallelism, CPU offload, and role splits of \
      several models. Training (--train): data parallel with DeepSpeed ZeRO or FSDP, the lightest \
      setup that fits. --emit LIST --output DIR also writes the launch files. \
      Exit status 0 when the plan fits (or is tight), 1 when it does not fit, 2 for bad input.
      """
  )

  @Argument(help: "The model(s), as for `estimate`; several models are a role split.")
  var models: [String] = []

  @Option(
    name: .customLong("role"),
    help: "A role: NAME=MODEL, optionally pinned to GPUs as NAME=MODEL@0,1 (repeatable)."
  )
  var roles: [String] = []

  @Option(help: "Topology: local, a bundled name (`shardplan topology --list`) or a file.")
  var topology: String = "local"

  @Option(help: "Strategy: auto, tensor, pipeline, expert, role or offload.")
  var strategy: Strategy = .auto

  @Option(
    help:
      "Objective: throughput, latency, longest-context or fewest-gpus (default: throughput; a role split packs onto the fewest GPUs)."
  )
  var objective: Objective?

  @OptionGroup var options: ModelOptions

  @Option(
    help:
      "Sequences in flight across the whole deployment (all replicas and data-parallel ranks together); each engine instance holds its share."
  )
  var concurrency: Int = 1

  @Option(help: "Measured expert load (JSON: per MoE layer, tokens per expert) for expert-parallel placement.")
  var expertLoad: String?

  @Option(help: "Extra expert slots for replicas of hot experts (EPLB), over the expert-parallel group.")
  var redundantExperts: Int = 0

  @Option(
    help: "Output format: table, json, yaml (a layout file for `validate`), or html (a self-contained report page)."
  )
  var format: OutputFormat = .table

  @Option(
    help:
      "Measured factors in place of the cost model's assumptions (YAML; `reconcile --write-calibration` writes one)."
  )
  var calibration: String?

  @OptionGroup(title: "Launch files")
  var emitting: EmitOptions

  @OptionGroup(title: "Training (with --train)")
  var training: TrainingOptions

  @Option(help: "Training: deepspeed (ZeRO) or fsdp.")
  var trainer: Trainer = .deepspeed

  @Option(help: "Training: sequences per GPU per step (default 1).")
  var microBatch: Int = 1

  @Option(help: "Training: gradient accumulation steps (default 1, or from --global-batch).")
  var gradientAccumulation: Int?

  @Option(help: "Training: sequences per optimizer step over all GPUs (= micro-batch × accumulation × GPUs).")
  var globalBatch: Int?

  @Option(help: "Training: use this many GPUs (default: all of the topology).")
  var gpus: Int?

  @Option(help: "Training: model-FLOPs utilisation for the step time, 0–1 (default 0.4, an assumption).")
  var mfu: Double = TrainingTime.defaultMFU

  struct Asked {
    var role: String
    var model: String
    var pins: [Int]?
    var context: Int?
    var concurrency: Int?
  }

  /// Every workload asked for, with its role name, pins and own settings.
  func workloads() throws -> [Asked] {
    var list: [Asked] = models.enumerated().map { Asked(role: "model\($0.offset)", model: $0.element) }
    if models.count == 1 { list = [Asked(role: "default", model: models[0])] }
    for full in roles {
      var parts = full.split(separator: ";").map(String.init)
      let role = parts.isEmpty ? full : parts.removeFirst()
      var context: Int?
      var concurrency: Int?
      for option in parts {
        let pair = option.split(separator: "=", maxSplits: 1).map(String.init)
        guard pair.count == 2, let value = TokenCount.parse(pair[1]), value >= 1 else {
          throw ValidationError("--role '\(full)': '\(option)' is not context=N or concurrency=N")
        }
        switch pair[0] {
        case "context": context = value
        case "concurrency": concurrency = value
        default:
          throw ValidationError("--role '\(full)': unknown setting '\(pair[0])'; expected context or concurrency")
        }
      }
      guard let equals = role.firstIndex(of: "="), equals != role.startIndex else {
        throw ValidationError("--role '\(full)' is not NAME=MODEL or NAME=MODEL@GPU,GPU")
      }
      let name = String(role[..<equals])
      if let problem = Layout.roleNameProblem(name) { throw ValidationError("--role '\(full)': \(problem)") }
      var model = String(role[role.index(after: equals)...])
      var pins: [Int]?
      if let at = model.lastIndex(of: "@") {
        let list = model[model.index(after: at)...].split(separator: ",").map { Int($0) }
        guard !list.isEmpty, list.allSatisfy({ ($0 ?? -1) >= 0 }) else {
          throw ValidationError("--role '\(role)': GPUs after '@' must be indices such as @0,1")
        }
        pins = list.compactMap { $0 }
        model = String(model[..<at])
      }
      guard !model.isEmpty else { throw ValidationError("--role '\(role)' names no model") }
      list.append(Asked(role: name, model: model, pins: pins, context: context, concurrency: concurrency))
    }
    return list
  }

  func validate() throws {
    if training.train == nil,
      let unused = TrainingOptions.givenTrainingOnly([
        "--trainer", "--micro-batch", "--gradient-accumulation", "--global-batch", "--gpus", "--mfu",
      ])
    {
      throw ValidationError("\(unused) sets up training and does nothing without --train full, lora or qlora")
    }
    let asked = try workloads()
    guard !asked.isEmpty else { throw ValidationError("give a MODEL or at least one --role NAME=MODEL") }
    if Set(asked.map(\.role)).count != asked.count { throw ValidationError("role names must be different") }
    guard redundantExperts >= 0, redundantExperts <= 100_000 else {
      throw ValidationError("--redundant-experts must be from 0 to 100000")
    }
    guard concurrency >= 1, concurrency <= 100_000 else {
      throw ValidationError("--concurrency must be from 1 to 100000")
    }
    if strategy == .role && roles.isEmpty && models.count < 2 {
      throw ValidationError("--strategy role needs several models or --role NAME=MODEL options")
    }
    try format.require([.table, .json, .yaml, .html], for: "plan")
    if training.train != nil {
      if asked.count > 1 { throw ValidationError("--train plans one model; give a single MODEL") }
      if training.offload != nil && training.zero == nil {
        throw ValidationError("--offload needs --zero (offload is part of a ZeRO setup); or leave both out to search")
      }
      if trainer == .fsdp, let zero = training.zero, zero == 1 {
        throw ValidationError("FSDP has no ZeRO-1 equivalent; use --zero 0, 2 or 3 with --trainer fsdp")
      }
      if trainer == .deepspeed, let offload = training.offload, offload != .none, training.optimizer != .adamw {
        throw ValidationError("ZeRO-Offload steps the optimizer with DeepSpeed's CPU Adam: use --optimizer adamw")
      }
      if trainer == .fsdp, training.offload == .nvme {
        throw ValidationError("FSDP offloads to CPU only; use --offload cpu or --trainer deepspeed")
      }
      guard microBatch >= 1, microBatch <= 100_000 else {
        throw ValidationError("--micro-batch must be from 1 to 100000")
      }
      if let gradientAccumulation, gradientAccumulation < 1 || gradientAccumulation > 1_000_000 {
        throw ValidationError("--gradient-accumulation must be from 1 to 1000000")
      }
      if gradientAccumulation != nil && globalBatch != nil {
        throw ValidationError("give --gradient-accumulation or --global-batch, not both")
      }
      if let globalBatch, globalBatch < 1 { throw ValidationError("--global-batch must be at least 1") }
      if let gpus, gpus < 1 || gpus > 100_000 { throw ValidationError("--gpus must be from 1 to 100000") }
      guard mfu > 0, mfu <= 1 else { throw ValidationError("--mfu must be above 0 and at most 1") }
    }
  }

  func run() throws {
    if training.train != nil { return try runTraining() }
    let graph: DeviceGraph
    var requests: [InferenceRequest] = []
    var loaded: [String: ModelSpec] = [:]
    do {
      graph = try loadTopologyWithGPUs(topology)
      let load = try expertLoad.map { try ExpertBalancer.readLoad(TopologyLoader.readFile($0), source: $0) }
      for asked in try workloads() {
        if let pins = asked.pins, let bad = pins.first(where: { $0 >= graph.gpus.count }) {
          throw InputError(
            .inconsistent,
            source: topology,
            field: "--role \(asked.role)",
            message: "GPU \(bad) does not exist",
            expected: "indices 0 to \(graph.gpus.count - 1)"
          )
        }
        let spec = try options.loader.load(asked.model)
        loaded[asked.role] = spec
        var request = try request(for: spec)
        request.role = asked.role
        request.pinnedGPUs = asked.pins
        if let context = asked.context { request.context = context }
        if let concurrency = asked.concurrency { request.concurrency = concurrency }
        do {
          try request.checkContext()
        } catch var error as InputError where asked.context == nil && roles.count > 0 {
          error.fix =
            "Give the role a context of its own within the limit: --role '\(asked.role)=\(asked.model)\(asked.pins.map { "@" + $0.map(String.init).joined(separator: ",") } ?? "");context=\(request.model.maxContext)'"
          throw error
        }
        request.redundantExperts = redundantExperts
        if let load, let expertLoad {
          guard let moe = request.model.moe else {
            throw InputError(.inconsistent, source: expertLoad, message: "\(request.model.name) has no experts")
          }
          guard load.count == moe.moeLayers.count, load.allSatisfy({ $0.count == moe.routedExperts }) else {
            throw InputError(
              .inconsistent,
              source: expertLoad,
              message: "load has \(load.count) layers × \(load.first?.count ?? 0) experts",
              expected: "\(moe.moeLayers.count) MoE layers × \(moe.routedExperts) experts of \(request.model.name)"
            )
          }
          request.expertLoad = load
        }
        requests.append(request)
      }
    } catch {
      failWithInputError(error)
    }
    let single = requests.count == 1 && requests[0].pinnedGPUs == nil
    let planner: Planner
    do {
      if !single, let objective, objective != .fewestGPUs {
        throw InputError(
          .inconsistent,
          source: "--objective \(objective.rawValue)",
          message: "a role split packs its roles onto the fewest GPUs, so it cannot plan for \(objective.rawValue)",
          expected: "no --objective, or fewest-gpus, with --role or several models",
          fix: "Plan each model on its own GPUs with its own command to choose its layout by \(objective.rawValue)"
        )
      }
      planner = try Planner(
        graph: graph,
        strategy: strategy,
        objective: objective ?? .throughput,
        calibration: try loadCalibration(calibration)
      )
    } catch {
      failWithInputError(error)
    }
    let plan = single ? planner.plan(requests[0]) : planner.planRoles(requests)
    try finish(plan, graph: graph, models: loaded)
  }

  /// A training plan of one model, data parallel over the topology's GPUs.
  func runTraining() throws {
    let graph: DeviceGraph
    let spec: ModelSpec
    do {
      graph = try loadTopologyWithGPUs(topology)
      spec = try options.loader.load(models.first ?? "")
    } catch {
      failWithInputError(error)
    }
    guard let setup = training.setup() else { return }
    let planner: Planner
    do {
      planner = try Planner(
        graph: graph,
        objective: objective ?? .throughput,
        calibration: try loadCalibration(calibration)
      )
    } catch {
      failWithInputError(error)
    }
    var request = TrainingRequest(
      model: spec,
      setup: setup,
      searchSetup: training.zero == nil,
      trainer: trainer,
      sequence: options.context(for: spec, cap: 2048),
      microBatch: microBatch,
      gradientAccumulation: gradientAccumulation ?? 1,
      gpuCount: gpus,
      mfu: mfu
    )
    if let globalBatch {
      let dp = planner.trainingGPUs(request).0.count
      let perStep = microBatch * max(dp, 1)
      guard globalBatch % perStep == 0 else {
        failWithInputError(
          InputError(
            .inconsistent,
            source: "--global-batch",
            message: "\(globalBatch) is not a multiple of micro-batch \(microBatch) × \(dp) GPU(s) = \(perStep)",
            fix: "Use a multiple of \(perStep), such as \(max(globalBatch / perStep, 1) * perStep)"
          )
        )
      }
      request.gradientAccumulation = globalBatch / perStep
    }
    try finish(planner.planTraining(request), graph: graph, models: ["default": spec])
  }

  /// Prints the plan in the chosen format, writes its launch files when asked;
  /// exits 1 when it does not fit.
  func finish(_ plan: Plan, graph: DeviceGraph, models: [String: ModelSpec]) throws {
    switch format {
    case .json: print(try plan.jsonText(), terminator: "")
    case .yaml: print(plan.layoutYAML(), terminator: "")
    case .html:
      // The page shows the launch files of every format that applies to a plan that fits.
      let files =
        plan.verdict == .doesNotFit
        ? [] : (try? Emitter(plan: plan, graph: graph, models: models, origin: "shardplan plan").emit(nil)) ?? []
      print(HTMLReport.plan(plan, graph: graph, files: files, version: ShardPlanCommand.version), terminator: "")
    default: print(plan.tableText(fixFlags: \.flags, colors: TerminalColor.enabled()), terminator: "")
    }
    if plan.verdict == .doesNotFit {
      if emitting.emit != nil {
        FileHandle.standardError.write(Data("not writing launch files: the plan does not fit\n".utf8))
      }
      throw ExitCode(1)
    }
    emitting.write(plan: plan, graph: graph, models: models, origin: "shardplan plan")
  }

  func request(for loaded: ModelSpec) throws -> InferenceRequest {
    try options.request(for: loaded, concurrency: concurrency)
  }

}
