internal import Yams

/// A layout file: which models run where, written by `plan --format yaml` or by
/// hand, checked by `validate`. The format is documented in the README
/// ("Layout files").
package struct Layout: Hashable, Sendable {
  package struct Workload: Hashable, Sendable {
    package var role: String
    package var model: String
    /// `as-stored`, a `--dtype` value or a `--quant` value.
    package var weights: String
    package var engine: Engine
    package var context: Int
    package var concurrency: Int
    package var kvCache: KVCacheType
    /// The engine's share of each card, when not its default.
    package var memoryFraction: Double? = nil
    package var tensorParallel: Int
    package var pipelineParallel: Int
    package var dataParallel: Int
    package var stages: [Stage]
    /// The GPUs of data-parallel replicas 1 … n−1, each in stage order (replica 0
    /// is the stages).
    package var replicas: [[Int]]
    package var gpuLayers: Int?
    package var expertParallel: Int
    package var cpuExpertLayers: Int?
    /// A training workload's setup (nil for inference).
    package var training: Training?
    /// The line of the workload's entry, for findings.
    package var line: Int
    /// The line of each stage's entry, in order, for findings about a stage.
    package var stageLines: [Int] = []
  }

  /// The `training:` block of a training workload.
  package struct Training: Hashable, Sendable {
    package var setup: ShardPlan.Workload.Training
    package var trainer: Trainer
    package var mixedPrecision: String
    package var microBatch: Int
    package var gradientAccumulation: Int
    package var mfu: Double
    package var line: Int
  }

  package var topology: String?
  package var workloads: [Workload]
}

/// A problem found in a layout file: a value, so that a validator reports every
/// problem at once rather than throwing at the first.
public struct Finding: Hashable, Sendable, Codable, CustomStringConvertible {
  /// What kind of problem it is; tools tell findings apart by it, not by their text.
  public struct Code: Hashable, Sendable, Codable, CustomStringConvertible {
    private enum Wrapped: String, Hashable, Sendable, Codable {
      case syntax, topology, model, structure, training, memory
    }
    private var wrapped: Wrapped
    /// The file breaks the layout format: YAML, a key, a value's type or range.
    public static var syntax: Code { Code(wrapped: .syntax) }
    /// The topology is missing or cannot be loaded or priced.
    public static var topology: Code { Code(wrapped: .topology) }
    /// A model cannot be loaded.
    public static var model: Code { Code(wrapped: .model) }
    /// The layout contradicts itself, the model or the machine (GPUs, stages, degrees, layers).
    public static var structure: Code { Code(wrapped: .structure) }
    /// A training setup the trainer cannot run.
    public static var training: Code { Code(wrapped: .training) }
    /// A GPU or host is short of memory.
    public static var memory: Code { Code(wrapped: .memory) }
    /// The text reports print.
    public var description: String { wrapped.rawValue }

    /// Decodes the value from its JSON form.
    public init(from decoder: any Decoder) throws {
      let text = try decoder.singleValueContainer().decode(String.self)
      guard let wrapped = Wrapped(rawValue: text) else {
        throw DecodingError.dataCorrupted(
          .init(codingPath: decoder.codingPath, debugDescription: "unknown code \(text)")
        )
      }
      self.wrapped = wrapped
    }

    /// Encodes the value in its JSON form.
    public func encode(to encoder: any Encoder) throws {
      var container = encoder.singleValueContainer()
      try container.encode(wrapped.rawValue)
    }

    private init(wrapped: Wrapped) { self.wrapped = wrapped }
  }

  /// The layout file.
  public var source: String
  /// The 1-based line, when the problem is on one.
  public var line: Int?
  /// What kind of problem.
  public var code: Code
  /// The workload's role, when the problem is in one workload.
  public var role: String?
  /// What is wrong and what to do, in a sentence.
  public var message: String

  /// A finding.
  package init(source: String, line: Int?, code: Code = .syntax, role: String? = nil, message: String) {
    self.source = source
    self.line = line
    self.code = code
    self.role = role
    self.message = message
  }

  /// `FILE:LINE: [ROLE: ]MESSAGE`.
  public var description: String {
    "\(source)\(line.map { ":\($0)" } ?? ""): \(role.map { "\($0): " } ?? "")\(message)"
  }
}

extension Plan {
  /// The plan as a layout file that `shardplan validate` accepts.
  package func layoutYAML() -> String {
    var out = "# shardplan layout, written by `shardplan plan --format yaml`; check it with `shardplan validate`.\n"
    out += "topology: \(DeviceGraph.yamlScalar(topology))\nworkloads:\n"
    for workload in workloads {
      out += "  - role: \(DeviceGraph.yamlScalar(workload.role))\n"
      out += "    model: \(DeviceGraph.yamlScalar(workload.model))\n"
      out += "    weights: \(DeviceGraph.yamlScalar(workload.weights.layoutKey))\n"
      out += "    engine: \(workload.engine.rawValue)\n"
      out += "    context: \(workload.context)\n"
      if let training = workload.training {
        out += "    training:\n"
        out += "      method: \(training.method.rawValue)\n"
        out += "      optimizer: \(training.optimizer.rawValue)\n"
        out += "      trainer: \(training.trainer.rawValue)\n"
        out += "      zeroStage: \(training.zeroStage)\n"
        out += "      offload: \(training.offload.rawValue)\n"
        out += "      gradientCheckpointing: \(training.gradientCheckpointing)\n"
        out += "      mixedPrecision: \(training.mixedPrecision)\n"
        out += "      microBatch: \(training.microBatch)\n"
        out += "      gradientAccumulation: \(training.gradientAccumulation)\n"
        if let rank = training.loraRank { out += "      loraRank: \(rank)\n" }
        if let targets = training.loraTargets { out += "      loraTargets: [\(targets.joined(separator: ", "))]\n" }
        out += "      mfu: \(training.mfu)\n"
      } else {
        out += "    concurrency: \(workload.concurrency)\n"
        // An encoder keeps no cache: its layout names none.
        if let kv = workload.kvCache { out += "    kvCache: \(kv.rawValue)\n" }
        if let fraction = workload.memoryFraction, fraction != EngineProfile.profile(workload.engine).memoryFraction {
          out += "    memoryFraction: \(fraction)\n"
        }
      }
      out += "    tensorParallel: \(workload.tensorParallel)\n"
      out += "    pipelineParallel: \(workload.pipelineParallel)\n"
      out += "    dataParallel: \(workload.dataParallel)\n"
      if let gpuLayers = workload.gpuLayers, workload.cpuExpertLayers == nil { out += "    gpuLayers: \(gpuLayers)\n" }
      if let experts = workload.cpuExpertLayers { out += "    cpuExpertLayers: \(experts)\n" }
      if workload.expertParallel > 1 { out += "    expertParallel: \(workload.expertParallel)\n" }
      out += "    stages:\n"
      for stage in workload.stages {
        out += "      - devices: [\(stage.devices.map(String.init).joined(separator: ", "))]\n"
        out += "        layers: \(stage.firstLayer)-\(stage.lastLayer)\n"
      }
      if workload.replicaDevices.count > 1 {
        let lists = workload.replicaDevices.dropFirst().map { "[\($0.map(String.init).joined(separator: ", "))]" }
        out += "    replicas: [\(lists.joined(separator: ", "))]\n"
      }
    }
    return out
  }
}

extension Layout {
  /// The weight format label of a model kept as stored: its checkpoint's
  /// quantization with "(as stored)", or "as stored".
  package static func storedLabel(_ spec: ModelSpec) -> String {
    spec.quantization.map { "\($0) (as stored)" } ?? "as stored"
  }

  static let topKeys = ["topology", "workloads"]
  static let workloadKeys = [
    "role", "model", "weights", "engine", "context", "concurrency", "kvCache", "tensorParallel", "pipelineParallel",
    "dataParallel", "expertParallel", "stages", "replicas", "gpuLayers", "cpuExpertLayers", "training",
    "memoryFraction",
  ]
  static let trainingKeys = [
    "method", "optimizer", "trainer", "zeroStage", "offload", "gradientCheckpointing", "mixedPrecision", "microBatch",
    "gradientAccumulation", "loraRank", "loraTargets", "mfu",
  ]
  static let stageKeys = ["devices", "layers"]

  /// Why `role` cannot name a workload, or nil: role names become parts of file
  /// names (`vllm.NAME.sh`), so they keep to letters, digits, `.`, `_` and `-`,
  /// start with a letter or digit, and are at most 64 characters.
  package static func roleNameProblem(_ role: String) -> String? {
    let allowed = role.unicodeScalars.allSatisfy {
      ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
        || "._-".unicodeScalars.contains($0)
    }
    guard !role.isEmpty, role.count <= 64, allowed, let first = role.unicodeScalars.first,
      !".-_".unicodeScalars.contains(first)
    else {
      return
        "role '\(role.debugDescription.dropFirst().dropLast())' is not a safe name: use letters, digits, '.', '_' and '-' (at most 64, starting with a letter or digit), such as chat or coder-1"
    }
    return nil
  }

  /// Reads a layout file, collecting every problem instead of stopping at the first.
  /// - Returns: the layout (with the workloads that could be read) and the findings.
  package static func read(_ text: String, source: String) -> (Layout?, [Finding]) {
    var findings: [Finding] = []
    func note(_ error: InputError) {
      findings.append(
        Finding(
          source: source,
          line: error.line,
          message: error.message + (error.expected.map { "; expected \($0)" } ?? "")
            + (error.fix.map { ". \($0)" } ?? "")
        )
      )
    }
    func attempt<T>(_ body: () throws -> T) -> T? {
      do { return try body() } catch let error as InputError {
        note(error)
        return nil
      } catch {
        findings.append(Finding(source: source, line: nil, message: "\(error)"))
        return nil
      }
    }
    guard let root = attempt({ try YAMLMapping.document(text, source: source, context: "the layout file") }) else {
      return (nil, findings)
    }
    _ = attempt { try root.checkKeysAll(topKeys, into: &findings) }
    let topology = attempt { try root.string("topology") } ?? nil
    let entries = attempt { try root.mappings("workloads", context: "a workload") } ?? []
    if entries.isEmpty {
      findings.append(Finding(source: source, line: root.line, message: "the layout has no workloads"))
    }
    var workloads: [Workload] = []
    for entry in entries {
      _ = attempt { try entry.checkKeysAll(workloadKeys, into: &findings) }
      let role = (attempt { try entry.string("role") } ?? nil) ?? "workload\(workloads.count)"
      if let problem = Layout.roleNameProblem(role) {
        findings.append(Finding(source: source, line: entry.node("role")?.1 ?? entry.line, message: problem))
      }
      guard let model = attempt({ try entry.requiredString("model") }) else { continue }
      let weights = (attempt { try entry.string("weights") } ?? nil) ?? "as-stored"
      if weights != "as-stored", WeightFormat(dtype: weights) == nil, WeightFormat(quant: weights) == nil {
        findings.append(
          Finding(
            source: source,
            line: entry.node("weights")?.1,
            message:
              "unknown weights '\(weights)'; expected as-stored, bf16, fp16, fp32, fp8, int8, int4, nf4, mxfp4 or a llama.cpp type"
          )
        )
      }
      let engineText = (attempt { try entry.string("engine") } ?? nil) ?? "vllm"
      let engine = Engine(rawValue: engineText)
      if engine == nil {
        findings.append(
          Finding(
            source: source,
            line: entry.node("engine")?.1,
            message: "unknown engine '\(engineText)'; expected vllm, sglang, llama.cpp or transformers"
          )
        )
      }
      let kvText =
        (attempt { try entry.string("kvCache") } ?? nil)
        ?? EngineProfile.profile(engine ?? .vllm).defaultKVCache.rawValue
      let kv = KVCacheType(name: kvText)
      if kv == nil {
        findings.append(Finding(source: source, line: entry.node("kvCache")?.1, message: "unknown kvCache '\(kvText)'"))
      }
      let context = (attempt { try entry.int("context", range: 1...100_000_000) } ?? nil) ?? 4096
      let concurrency = (attempt { try entry.int("concurrency", range: 1...100_000) } ?? nil) ?? 1
      let memoryFraction =
        attempt {
          try entry.double("memoryFraction", range: 0.1...EngineProfile.highestMemoryFraction)
        } ?? nil
      let tp = (attempt { try entry.int("tensorParallel", range: 1...1024) } ?? nil) ?? 1
      let pp = (attempt { try entry.int("pipelineParallel", range: 1...1024) } ?? nil) ?? 1
      let dp = (attempt { try entry.int("dataParallel", range: 1...1024) } ?? nil) ?? 1
      let gpuLayers = attempt { try entry.int("gpuLayers", range: 0...100_000) } ?? nil
      let ep = (attempt { try entry.int("expertParallel", range: 1...100_000) } ?? nil) ?? 1
      let cpuExperts = attempt { try entry.int("cpuExpertLayers", range: 0...100_000) } ?? nil
      let replicas = (attempt { try entry.intLists("replicas") } ?? nil) ?? []
      var training: Training?
      if let block = attempt({ try entry.mapping("training", context: "the training setup") }) ?? nil {
        _ = attempt { try block.checkKeysAll(trainingKeys, into: &findings) }
        func choice<T: RawRepresentable & CaseIterable>(_ key: String, _ fallback: T) -> T where T.RawValue == String {
          guard let text = attempt({ try block.string(key) }) ?? nil else { return fallback }
          guard let value = T(rawValue: text) else {
            findings.append(
              Finding(
                source: source,
                line: block.node(key)?.1,
                message:
                  "unknown training.\(key) '\(text)'; expected \(T.allCases.map(\.rawValue).joined(separator: ", "))"
              )
            )
            return fallback
          }
          return value
        }
        let precision = (attempt { try block.string("mixedPrecision") } ?? nil) ?? "bf16"
        if !["bf16", "fp16"].contains(precision) {
          findings.append(
            Finding(
              source: source,
              line: block.node("mixedPrecision")?.1,
              message: "unknown training.mixedPrecision '\(precision)'; expected bf16 or fp16"
            )
          )
        }
        var setup = ShardPlan.Workload.Training(
          method: choice("method", ShardPlan.Workload.Training.Method.full),
          optimizer: choice("optimizer", ShardPlan.Workload.Training.Optimizer.adamw),
          zeroStage: (attempt { try block.int("zeroStage", range: 0...3) } ?? nil) ?? 0,
          offload: choice("offload", ShardPlan.Workload.Training.Offload.none),
          gradientCheckpointing: (attempt { try block.bool("gradientCheckpointing") } ?? nil) ?? false
        )
        if let rank = attempt({ try block.int("loraRank", range: 1...65536) }) ?? nil { setup.loraRank = rank }
        if block.has("loraTargets") {
          setup.loraTargets = (attempt { try block.strings("loraTargets") } ?? nil) ?? setup.loraTargets
        }
        training = Training(
          setup: setup,
          trainer: choice("trainer", Trainer.deepspeed),
          mixedPrecision: precision,
          microBatch: (attempt { try block.int("microBatch", range: 1...100_000) } ?? nil) ?? 1,
          gradientAccumulation: (attempt { try block.int("gradientAccumulation", range: 1...1_000_000) } ?? nil) ?? 1,
          mfu: (attempt { try block.double("mfu", range: 0.001...1) } ?? nil) ?? TrainingTime.defaultMFU,
          line: block.line
        )
        for key in ["concurrency", "kvCache"] where entry.has(key) {
          findings.append(
            Finding(
              source: source,
              line: entry.node(key)?.1,
              message: "'\(key)' is for inference; a training workload's batch is training.microBatch"
            )
          )
        }
      }
      var stages: [Stage] = []
      var stageLines: [Int] = []
      for stageEntry in attempt({ try entry.mappings("stages", context: "a stage") }) ?? [] {
        _ = attempt { try stageEntry.checkKeysAll(stageKeys, into: &findings) }
        let devices = (attempt { try stageEntry.ints("devices") } ?? nil) ?? []
        let layerText = (attempt { try stageEntry.requiredString("layers") }) ?? ""
        let bounds = layerText.split(separator: "-", omittingEmptySubsequences: false).map {
          Int($0.trimmingWhitespace())
        }
        let limit = FieldBounds.Kind.layers.range.upperBound - 1
        guard bounds.count == 2, let first = bounds[0], let last = bounds[1], first <= last, first >= 0, last <= limit
        else {
          findings.append(
            Finding(
              source: source,
              line: stageEntry.node("layers")?.1 ?? stageEntry.line,
              message: "layers '\(layerText)' is not a range such as 0-39 (layer numbers from 0 to \(limit))"
            )
          )
          continue
        }
        if devices.isEmpty {
          findings.append(Finding(source: source, line: stageEntry.line, message: "a stage lists no devices"))
        }
        stages.append(Stage(devices: devices, firstLayer: first, lastLayer: last))
        stageLines.append(stageEntry.line)
      }
      workloads.append(
        Workload(
          role: role,
          model: model,
          weights: weights,
          engine: engine ?? .vllm,
          context: context,
          concurrency: concurrency,
          kvCache: kv ?? .bf16,
          memoryFraction: memoryFraction,
          tensorParallel: tp,
          pipelineParallel: pp,
          dataParallel: dp,
          stages: stages,
          replicas: replicas,
          gpuLayers: gpuLayers,
          expertParallel: ep,
          cpuExpertLayers: cpuExperts,
          training: training,
          line: entry.line,
          stageLines: stageLines
        )
      )
    }
    return (Layout(topology: topology, workloads: workloads), findings)
  }
}

extension YAMLMapping {
  /// Like ``checkKeys(_:)`` but records every unknown key instead of stopping.
  func checkKeysAll(_ allowed: [String], into findings: inout [Finding]) throws {
    for key in keys where !allowed.contains(key) {
      let suggestion = allowed.min { editDistance($0, key) < editDistance($1, key) }
      let hint = suggestion.flatMap { editDistance($0, key) <= 3 ? " Did you mean '\($0)'?" : nil } ?? ""
      findings.append(
        Finding(
          source: source,
          line: node(key)?.1,
          message: "unknown key '\(key)'; expected one of \(allowed.joined(separator: ", ")).\(hint)"
        )
      )
    }
  }
}
