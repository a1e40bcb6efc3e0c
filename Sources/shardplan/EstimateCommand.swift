import ArgumentParser
import Foundation
import ShardPlan
import ShardPlanHub

struct EstimateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "estimate",
    abstract: "Exact weights, KV cache, activations and overheads of a model, for inference or training.",
    discussion: """
      MODEL is a .gguf file, a folder with config.json (and safetensors), a config.json, \
      a bundled model's Hub id (`shardplan models`), or a Hub id in the Hugging Face cache.
      """
  )

  @Argument(help: "The model.")
  var model: String

  @OptionGroup var options: ModelOptions

  @Option(help: "Sequences at once (inference) or micro-batch (training).")
  var batch: Int = 1

  @OptionGroup var training: TrainingOptions

  @Option(help: "GPUs: tensor-parallel degree (inference) or data-parallel size (training).")
  var gpus: Int = 1

  @Option(help: "Output format: table or json.")
  var format: OutputFormat = .table

  func validate() throws {
    guard batch >= 1, batch <= 1_000_000 else { throw ValidationError("--batch must be from 1 to 1000000") }
    guard gpus >= 1, gpus <= 100_000 else { throw ValidationError("--gpus must be from 1 to 100000") }
    try format.require([.table, .json], for: "estimate")
  }

  func run() throws {
    var spec: ModelSpec
    do {
      spec = try options.loader.load(model)
    } catch {
      failWithInputError(error)
    }
    let original = spec
    let weights: PlannedWeights
    (spec, weights) = options.weights(original)
    let engine = options.engine(for: spec)
    let kvType = options.kvCache(for: engine)
    let setup = training.setup()
    // Training plans at most 2048 tokens unless asked, as the help says; serving 8192.
    let context = options.context(for: spec, cap: setup == nil ? 8192 : 2048)
    var mode = Workload.Mode.inference
    if let setup {
      mode = .training(setup)
    } else {
      do {
        try options.requireKnownKVCache(spec, source: model)
        try InferenceRequest(model: spec, weights: weights, context: context, engine: engine).checkContext()
        try options.requireEngineKVCache(engine, source: model)
        // vLLM and SGLang split attention heads over tensor-parallel ranks: the
        // degree must divide them, as both check at start.
        let heads = spec.attention.heads
        if EngineProfile.profile(engine).splitsTensors, gpus > 1, heads > 0, heads % gpus != 0 {
          throw InputError(
            .inconsistent,
            source: model,
            field: "--gpus",
            message: "\(engine.rawValue) cannot split \(heads) attention heads over \(gpus) GPUs",
            expected: "a number of GPUs that divides \(heads)",
            fix:
              "Use --gpus \((1...gpus).last { heads % $0 == 0 } ?? 1) or --gpus \((gpus...heads).first { heads % $0 == 0 } ?? heads)"
          )
        }
      } catch { failWithInputError(error) }
    }
    let workload = Workload(mode: mode, context: context, batch: batch, kvCache: kvType, engine: engine, gpus: gpus)
    let estimate = MemoryModel.estimate(model: spec, workload: workload, weights: weights)
    let report = EstimateReport(model: spec, original: original, workload: workload, estimate: estimate)
    if self.format == .json {
      print(try report.jsonText(), terminator: "")
    } else {
      print(report.tableText(), terminator: "")
    }
  }
}

struct ModelsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "models",
    abstract: "List the bundled models (Hub ids) with parameters and stored bytes."
  )

  @Option(help: "Output format: table or json.")
  var format: OutputFormat = .table

  func validate() throws {
    try format.require([.table, .json], for: "models")
  }

  func run() throws {
    let specs = BundledModels.ids.compactMap { id -> ModelSpec? in
      guard let config = BundledModels.config(for: id) else { return nil }
      return try? HFConfigReader.read(Data(config.json.utf8), name: id, source: id)
    }
    if format == .json {
      struct Row: Encodable {
        var id, family: String
        var parameters, activeParameters, weightBytes: Int64
        var layers, maxContext: Int
      }
      struct Form: Encodable {
        var schemaVersion = 1
        var models: [Row]
      }
      let rows = specs.map {
        Row(
          id: $0.name,
          family: $0.family,
          parameters: $0.parameters,
          activeParameters: $0.activeParameters,
          weightBytes: $0.weightBytes,
          layers: $0.layers,
          maxContext: $0.maxContext
        )
      }
      print(try jsonString(Form(models: rows)))
      return
    }
    var rows: [[String]] = [["Hub id", "Family", "Parameters", "Active", "Stored", "Layers", "Context"]]
    for spec in specs {
      let id = spec.name
      rows.append([
        id, spec.family, formatCount(spec.parameters), formatCount(spec.activeParameters),
        Units.formatBytes(spec.weightBytes), "\(spec.layers)", "\(spec.maxContext)",
      ])
    }
    print(table(rows), terminator: "")
  }
}

/// `30532122624` → `30.53 B`.
func formatCount(_ value: Int64) -> String {
  if value >= 1_000_000_000 { return Units.formatDecimal(Double(value) / 1e9, places: 2) + " B" }
  if value >= 1_000_000 { return Units.formatDecimal(Double(value) / 1e6, places: 1) + " M" }
  return "\(value)"
}

/// Left-aligned columns separated by two spaces.
func table(_ rows: [[String]], indent: String = "") -> String {
  guard let width = rows.map(\.count).max() else { return "" }
  var widths = [Int](repeating: 0, count: width)
  for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
  return rows.map { row in
    var line = indent
    for (index, cell) in row.enumerated() {
      line += cell
      if index < row.count - 1 { line += String(repeating: " ", count: widths[index] - cell.count + 2) }
    }
    while line.last == " " { line.removeLast() }
    return line + "\n"
  }.joined()
}
