/// A launch format shardplan writes.
public enum EmitFormat: String, Hashable, Sendable, CaseIterable, Codable {
  case accelerate
  case deviceMap = "device-map"
  case deepspeed
  case vllm
  case sglang
  case llamaCpp = "llama.cpp"
  case torchrun

  /// Parses a `--emit` list: names separated by commas, or `all` (nil: every
  /// format that applies). Formats come back in the order of ``allCases``.
  package static func parseList(_ text: String) throws -> [EmitFormat]? {
    var chosen: Set<EmitFormat> = []
    let aliases: [String: EmitFormat] = ["llamacpp": .llamaCpp, "llama": .llamaCpp, "devicemap": .deviceMap]
    for part in text.split(separator: ",").map({ $0.trimmingWhitespace().lowercased() }) where !part.isEmpty {
      if part == "all" { return nil }
      guard let format = EmitFormat(rawValue: part) ?? aliases[part] else {
        throw InputError(
          .unknownName,
          source: "--emit",
          message: "unknown format '\(part)'",
          expected: "all, or any of \(EmitFormat.allCases.map(\.rawValue).joined(separator: ", "))"
        )
      }
      chosen.insert(format)
    }
    guard !chosen.isEmpty else {
      throw InputError(
        .malformed,
        source: "--emit",
        message: "no format named",
        expected: "all, or a list such as vllm,accelerate"
      )
    }
    return EmitFormat.allCases.filter(chosen.contains)
  }
}

/// One file an emitter writes: its name in the output folder and its text.
public struct EmittedFile: Hashable, Sendable {
  /// The file name (`vllm.sh`, `ds_config.json` …).
  public var name: String
  /// The file’s text.
  public var contents: String
  /// Shell scripts are written executable.
  public var executable: Bool

  package init(name: String, contents: String, executable: Bool) {
    self.name = name
    self.contents = contents
    self.executable = executable
  }
}

/// Writes what a plan decided in the formats people launch with: accelerate and
/// DeepSpeed configs, `device_map` / `max_memory`, vLLM, SGLang and llama.cpp
/// command lines, torchrun lines and DeepSpeed hostfiles.
///
/// An emitter never re-decides or re-estimates: every number it writes is the
/// plan's (degrees, stages, context, batch sizes) or follows from the plan's
/// per-GPU budget by the consumer's documented meaning of the flag (vLLM's
/// `--gpu-memory-utilization`, SGLang's `--mem-fraction-static`). Where a format
/// cannot express the plan, it throws an ``InputError`` that says why and what
/// to do instead; it never writes an approximation silently.
public struct Emitter: Sendable {
  /// The plan the files launch.
  package var plan: Plan
  /// The machine it was planned for (host names, GPU indices).
  package var graph: DeviceGraph
  /// The models of the plan's workloads by role, as loaded (before conversion).
  package var models: [String: ModelSpec]
  /// What produced the plan, for the header line (`shardplan plan`, `shardplan emit layout.yaml`).
  package var origin: String

  /// An emitter of `plan` on `graph`; `models` by role as loaded, `origin` named in every file’s header.
  public init(plan: Plan, graph: DeviceGraph, models: [String: ModelSpec], origin: String) {
    self.plan = plan
    self.graph = graph
    self.models = models
    self.origin = origin
  }

  /// The formats that apply to the plan's workloads.
  package func applicableFormats() -> [EmitFormat] {
    EmitFormat.allCases.filter { format in plan.workloads.contains { applies(format, to: $0) } }
  }

  /// The formats `--emit all` leaves out, each with why and what plan writes it:
  /// every engine sizes memory its own way, so a file is written only from a plan
  /// for its own engine, never translated from another's.
  package func skippedFormats() -> [(format: EmitFormat, reason: String)] {
    let engines = Set(plan.workloads.map { $0.training == nil ? $0.engine.rawValue : "training" }).sorted()
    return EmitFormat.allCases.filter { !applicableFormats().contains($0) }.map { format in
      (format, "the plan is for \(engines.joined(separator: ", ")); \(Self.hint(format).lowercasedFirst)")
    }
  }

  /// Whether `format` can launch `workload`.
  package func applies(_ format: EmitFormat, to workload: WorkloadPlan) -> Bool {
    let training = workload.training
    switch format {
    case .vllm: return training == nil && workload.engine == .vllm
    case .sglang: return training == nil && workload.engine == .sglang
    case .llamaCpp: return training == nil && workload.engine == .llamaCpp
    case .deviceMap: return training == nil && workload.engine == .transformers
    case .accelerate: return training != nil || workload.engine == .transformers
    case .deepspeed: return training?.trainer == .deepspeed
    case .torchrun: return training != nil
    }
  }

  /// Writes the files of `formats` (nil: every format that applies). Throws when
  /// the plan does not fit, or when a format asked for by name does not apply.
  public func emit(_ formats: [EmitFormat]?) throws -> [EmittedFile] {
    guard plan.verdict != .doesNotFit else {
      throw InputError(
        .inconsistent,
        source: "--emit",
        message: "the plan does not fit, so there is nothing to launch",
        fix: plan.fixes.first.map { "Apply a fix first: \($0)" } ?? "Change the model, the precision or the GPUs"
      )
    }
    guard !plan.workloads.isEmpty else {
      throw InputError(
        .inconsistent,
        source: "--emit",
        message: "the plan has no workload",
        fix: "Plan at least one model (MODEL or --role NAME=MODEL)"
      )
    }
    let chosen = formats ?? applicableFormats()
    for format in chosen where !plan.workloads.contains(where: { applies(format, to: $0) }) {
      let engines = Set(plan.workloads.map { $0.training == nil ? $0.engine.rawValue : "training" }).sorted()
      throw InputError(
        .inconsistent,
        source: "--emit \(format.rawValue)",
        message:
          "no workload of the plan runs on \(format.rawValue) (the plan is for \(engines.joined(separator: ", ")))",
        expected: "one of \(applicableFormats().map(\.rawValue).joined(separator: ", ")), or all",
        fix: Self.hint(format)
      )
    }
    var files: [EmittedFile] = []
    let several = plan.workloads.count > 1
    for workload in plan.workloads {
      let suffix = several ? "." + Self.safeName(workload.role) : ""
      for format in chosen where applies(format, to: workload) {
        files.append(contentsOf: try emit(format, workload, suffix: suffix))
      }
    }
    let names = files.map(\.name)
    if let clash = names.first(where: { name in names.filter { $0 == name }.count > 1 }) {
      throw InputError(
        .inconsistent,
        source: "--emit",
        message: "two roles would write \(clash)",
        fix: "Give the roles names that differ in letters and digits"
      )
    }
    return files
  }

  func emit(_ format: EmitFormat, _ workload: WorkloadPlan, suffix: String) throws -> [EmittedFile] {
    switch format {
    case .vllm: [try vllmScript(workload, suffix: suffix)]
    case .sglang: [try sglangScript(workload, suffix: suffix)]
    case .llamaCpp: [try llamaScript(workload, suffix: suffix)]
    case .deviceMap: try deviceMapFiles(workload, suffix: suffix)
    case .accelerate: try accelerateConfigs(workload, suffix: suffix)
    case .deepspeed: try deepSpeedFiles(workload, suffix: suffix)
    case .torchrun: [try torchrunScript(workload, suffix: suffix)]
    }
  }

  static func hint(_ format: EmitFormat) -> String {
    switch format {
    case .vllm: "Plan with --engine vllm to launch with vLLM"
    case .sglang: "Plan with --engine sglang to launch with SGLang"
    case .llamaCpp: "Plan with --engine llama.cpp (or a GGUF model) to launch with llama-server"
    case .deviceMap: "Plan with --engine transformers for a device_map"
    case .accelerate: "Plan with --engine transformers, or a training run with --train"
    case .deepspeed: "Plan a training run with --train (and --trainer deepspeed)"
    case .torchrun: "Plan a training run with --train"
    }
  }

  /// A role name as a file-name part: letters, digits, `-` and `_`.
  static func safeName(_ role: String) -> String {
    String(role.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "-" })
  }

  // MARK: - Shared facts

  /// Ports the launch files use. The serving ports are the engines' own defaults
  /// (vLLM 8000, SGLang 30000) or llama.cpp's long-time 8080, plus the role's
  /// position; the others are what the engines' and PyTorch's documentation use:
  /// torch.distributed's default master port, vLLM's multi-node data-parallel RPC
  /// example and SGLang's multi-node `--dist-init-addr` example.
  enum Port {
    static let vllm = 8000
    static let sglang = 30000
    static let llamaServer = 8080
    static let torchMaster = 29500
    static let vllmDataParallelRPC = 13345
    static let sglangDistributedInit = 50000
  }

  /// The model of a workload (by role), or an error naming the role.
  func model(_ workload: WorkloadPlan) throws -> ModelSpec {
    guard let model = models[workload.role] else {
      throw InputError(
        .inconsistent,
        source: "--emit",
        message: "no model was loaded for role \(workload.role)",
        fix: "Pass the role's ModelSpec in Emitter's `models`, keyed by the role name"
      )
    }
    return model
  }

  /// The GPUs of each replica (replica 0 first), each in stage order.
  func replicas(_ workload: WorkloadPlan) -> [[Int]] {
    workload.replicaDevices.isEmpty ? [workload.stages.flatMap(\.devices)] : workload.replicaDevices
  }

  /// Hosts in the order the workload's GPUs first appear, each with its GPUs in that order.
  func hosts(of gpus: [Int]) -> [(host: Int, gpus: [Int])] {
    var order: [Int] = []
    var byHost: [Int: [Int]] = [:]
    for gpu in gpus {
      let host = graph.gpus[gpu].host
      if byHost[host] == nil { order.append(host) }
      byHost[host, default: []].append(gpu)
    }
    return order.map { ($0, byHost[$0] ?? []) }
  }

  /// `CUDA_VISIBLE_DEVICES` for GPUs of one host: their local indices in order.
  func visibleDevices(_ gpus: [Int]) -> String {
    gpus.map { String(graph.gpus[$0].localIndex) }.joined(separator: ",")
  }

  func hostName(_ host: Int) -> String { graph.hosts[host].name }

  /// The comment lines every file starts with (without the comment marker).
  func header(_ workload: WorkloadPlan) -> [String] {
    var lines = [
      "Written by shardplan (\(origin)) for role '\(workload.role)': \(workload.model) as \(workload.weights.label)",
      "on topology '\(plan.topology)', verdict \(plan.verdict.rawValue). Plan: \(summary(workload)).",
    ]
    if plan.workloads.count > 1 {
      lines.append(
        "One of \(plan.workloads.count) roles: \(plan.workloads.map(\.role).joined(separator: ", ")); each role has its own files."
      )
    }
    return lines
  }

  /// What a training run's own script must do for the plan to hold.
  func trainingNotes(_ training: TrainingPlan) -> [String] {
    var notes: [String] = []
    if training.method == .qlora && training.zeroStage == 3 {
      notes.append(
        "QLoRA under ZeRO-3 / FULL_SHARD: load the model with BitsAndBytesConfig(bnb_4bit_quant_storage=torch.bfloat16) so the 4-bit weights can be sharded."
      )
    }
    if training.gradientCheckpointing {
      notes.append(
        "The plan assumes gradient checkpointing: call model.gradient_checkpointing_enable() (or --gradient_checkpointing)."
      )
    }
    if training.method != .full, let rank = training.loraRank {
      notes.append(
        "LoRA rank \(rank) on \(training.loraTargets?.joined(separator: ", ") ?? "every linear layer"), as planned."
      )
    }
    return notes
  }

  /// The layout in words (the plan's own summary) with what the launch files set:
  /// for serving the context, sequences and KV cache; for training the batch.
  func summary(_ workload: WorkloadPlan) -> String {
    if let training = workload.training {
      return
        "\(workload.layoutSummary), \(training.microBatch) × \(training.sequence) tokens per GPU, \(training.gradientAccumulation) accumulation step(s), global batch \(training.globalBatch)"
    }
    var text = workload.layoutSummary
    if workload.dataParallel > 1 && workload.strategy != .expert {
      let all = replicas(workload).flatMap { $0 }.map(String.init).joined(separator: ",")
      text += ", all replicas together on GPU \(all)"
    }
    return
      "\(text), context \(workload.context) tokens × \(workload.concurrency) sequence(s), \(workload.kvCache.map { "KV \($0.rawValue)" } ?? "no KV cache")"
  }

  /// Memory of the workload's own share of `gpu`: its planned bytes plus its part
  /// of the GPU's free memory (split among the workloads on the GPU by their
  /// planned bytes).
  func share(_ workload: WorkloadPlan, gpu: Int) -> (budget: Int64, used: Int64, capacity: Int64) {
    let device = plan.devices.first { $0.index == gpu }
    let capacity = device?.capacityBytes ?? graph.gpus[gpu].allocatableBytes ?? 0
    let own = workload.gpuShares.first { $0.gpu == gpu }?.usedBytes ?? device?.usedBytes ?? 0
    let total = max(device?.usedBytes ?? own, own)
    let free = max(device?.freeBytes ?? 0, 0)
    let part = total > 0 ? Int64(Double(free) * Double(own) / Double(total)) : free
    return (own + part, own, capacity)
  }

  /// A fraction of the card for an engine flag: the smallest over the GPUs of
  /// `budget / capacity`, rounded down to 3 decimals, but never below what the plan
  /// needs (rounded up).
  static func fraction(_ values: [(budget: Int64, needed: Int64, capacity: Int64)]) -> String {
    let usable = values.map { Double($0.budget) / Double(max($0.capacity, 1)) }.min() ?? 0.9
    let needed = values.map { Double($0.needed) / Double(max($0.capacity, 1)) }.max() ?? 0
    var value = (usable * 1000 + 1e-6).rounded(.down) / 1000
    if value < needed { value = (needed * 1000).rounded(.up) / 1000 }
    return Units.formatDecimal(min(value, 1), places: 3)
  }
}

// MARK: - Text helpers

extension Emitter {
  /// `text` quoted for bash when it needs quoting.
  static func shellQuote(_ text: String) -> String {
    let safe = text.allSatisfy { $0.isLetter || $0.isNumber || "-_./:=,@%+".contains($0) }
    if safe && !text.isEmpty { return text }
    return "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
  }

  /// Comment lines with `marker`.
  static func comment(_ lines: [String], marker: String = "#") -> String {
    // A line break inside a name (a host, a model path) must not end the comment.
    lines.map { line in
      let flat = String(line.map { $0.isNewline ? " " : $0 })
      return flat.isEmpty ? marker : "\(marker) \(flat)"
    }.joined(separator: "\n") + "\n"
  }

  /// A bash script: shebang, header, `set -euo pipefail`, then `body`. A script
  /// that pins GPUs numbers them as nvidia-smi does (PCI bus order) and makes CUDA
  /// count the same way: by default CUDA puts the fastest card first, which on a
  /// machine of mixed cards is another card than the plan's.
  static func script(header: [String], body: String) -> String {
    let order =
      body.contains("CUDA_VISIBLE_DEVICES")
      ? "# GPU numbers are nvidia-smi's (PCI bus order); CUDA counts that way too only when told.\nexport CUDA_DEVICE_ORDER=PCI_BUS_ID\n\n"
      : ""
    return "#!/usr/bin/env bash\n" + comment(header) + "set -euo pipefail\n\n" + order + body
  }

  /// Lines of a bash array `name=( … )`, one argument pair per line.
  static func bashArray(_ name: String, _ arguments: [[String]]) -> String {
    var out = "\(name)=(\n"
    for argument in arguments { out += "  " + argument.joined(separator: " ") + "\n" }
    return out + ")\n"
  }

  /// The part of a script that reads `NODE_RANK` (and the head's address) for a
  /// launch over several hosts, setting `CUDA_VISIBLE_DEVICES` per node and any
  /// per-node `extra` variables.
  func nodeSelection(
    hosts: [(host: Int, gpus: [Int])],
    addressVariable: String? = "MASTER_ADDR",
    extra: [(name: String, values: [String])] = []
  ) -> String {
    let names = hosts.enumerated().map { "\($0.offset) on \(hostName($0.element.host))" }.joined(separator: ", ")
    var out = Self.comment(["Run this script on every node with NODE_RANK set: \(names)."])
    out += "NODE_RANK=\"${NODE_RANK:?set NODE_RANK: \(Self.shellMessage(names))}\"\n"
    if let addressVariable {
      out +=
        "\(addressVariable)=\"${\(addressVariable):-\(Self.shellDefault(hostName(hosts[0].host)))}\"  # the address of \(Self.shellMessage(hostName(hosts[0].host))), reachable from every node\n"
    }
    out += "case \"$NODE_RANK\" in\n"
    for (rank, entry) in hosts.enumerated() {
      var assignments = ["export CUDA_VISIBLE_DEVICES=\(visibleDevices(entry.gpus))"]
      for variable in extra { assignments.append("\(variable.name)=\(variable.values[rank])") }
      out += "  \(rank)) \(assignments.joined(separator: "; ")) ;;  # \(Self.shellMessage(hostName(entry.host)))\n"
    }
    out += "  *) echo \"NODE_RANK must be 0 to \(hosts.count - 1)\" >&2; exit 2 ;;\n"
    out += "esac\n"
    return out
  }

  /// A default value inside `${VAR:-…}`: characters that need no escaping there.
  static func shellDefault(_ text: String) -> String {
    String(text.filter { $0.isLetter || $0.isNumber || "-_./:@".contains($0) })
  }

  /// A message inside `"${VAR:?…}"`: everything but what ends or expands it.
  static func shellMessage(_ text: String) -> String {
    String(text.filter { !"\"$`\\}!".contains($0) && !$0.isNewline })
  }
}

extension String {
  /// The text with its first letter in lower case (a hint inside a sentence).
  var lowercasedFirst: String { prefix(1).lowercased() + dropFirst() }
}
