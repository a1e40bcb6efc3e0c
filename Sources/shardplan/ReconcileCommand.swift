import ArgumentParser
import Foundation
import ShardPlan

struct ReconcileCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "reconcile",
    abstract: "Set an engine's own log beside a plan: each term it measured, predicted and measured, and the error.",
    discussion: """
      Reads the start-up and run logs vLLM, SGLang, llama.cpp (llama-server) and Ollama \
      print — model weights, KV cache, compute buffers or activations, overheads, CUDA \
      graphs, GPU layers, context and tokens/s, per GPU where the log says — and sets \
      beside them the prediction for the same run: --plan plan.json (the JSON of \
      `shardplan plan … --format json`), or --model MODEL --topology TOPO with the \
      options of `plan`, planned here for the log's engine and context unless \
      --engine and --context say otherwise. Error is (predicted − measured) / measured. \
      Exit status 0 when read, 2 when the log has nothing an engine prints or the \
      plan cannot be made or read.
      """
  )

  @Argument(help: "Engine logs (each read as a stream; lines of other programs are skipped and counted).")
  var logs: [String]

  @Option(help: "The plan to hold the logs to: the JSON of `shardplan plan … --format json`.")
  var plan: String?

  @Option(help: "Plan the logged run here instead: its model, as for `plan` (with --topology).")
  var model: String?

  @Option(help: "With --model: the machine of the logged run (a bundled name or a file).")
  var topology: String?

  @Option(help: "With --model: strategy, as for `plan`.")
  var strategy: Strategy = .auto

  @Option(help: "With --model: objective, as for `plan` (fewest-gpus for a run on one GPU of a larger machine).")
  var objective: Objective = .throughput

  @Option(help: "With --model: sequences in flight, as for `plan` (llama.cpp's --parallel).")
  var concurrency: Int = 1

  @Option(help: "With --model: a calibration file to plan with, as for `plan`.")
  var calibration: String?

  @OptionGroup(title: "With --model: the options of `plan`")
  var options: ModelOptions

  @Option(help: "Output format: table or json.")
  var format: OutputFormat = .table

  @Option(
    help:
      "Write a calibration file derived from the logs against their plans (HBM and GEMM efficiency from tokens/s, engine overheads)."
  )
  var writeCalibration: String?

  func validate() throws {
    try format.require([.table, .json], for: "reconcile")
    if logs.isEmpty { throw ValidationError("give at least one log") }
    if plan != nil && model != nil { throw ValidationError("give --plan or --model, not both") }
    if model != nil && topology == nil { throw ValidationError("--model needs --topology: the GPUs of the logged run") }
    if model == nil && topology != nil { throw ValidationError("--topology goes with --model") }
    guard concurrency >= 1, concurrency <= 100_000 else {
      throw ValidationError("--concurrency must be from 1 to 100000")
    }
    if writeCalibration != nil && plan == nil && model == nil {
      throw ValidationError("--write-calibration needs a prediction to hold the logs to: --plan or --model")
    }
  }

  /// The engine shardplan plans for a log's engine (Ollama runs llama.cpp); nil
  /// for the lines of `shardplan measure` and nvidia-smi's samples, which no
  /// engine printed (`--engine` says which ran).
  static func engine(of log: EngineLog) -> Engine? {
    switch log.engine {
    case .vllm: .vllm
    case .sglang: .sglang
    case .llamaCpp, .ollama: .llamaCpp
    case .measure, .nvidiaSmi: nil
    }
  }

  /// The plan's figures for one log: from --plan, or planned for --model on --topology.
  func figures(for log: EngineLog, planned: Reconciliation.PlanFigures?) throws -> Reconciliation.PlanFigures? {
    guard let model, let topology else { return planned }
    let graph = try loadTopologyWithGPUs(topology)
    let spec = try options.loader.load(model)
    let context = log.figures(.context).last.map { Int($0.value) }
    let request = try options.request(
      for: spec,
      concurrency: concurrency,
      engine: options.engine ?? Self.engine(of: log),
      context: context
    ).servingAsLogged(log)
    let planner = try Planner(
      graph: graph,
      strategy: strategy,
      objective: objective,
      calibration: try loadCalibration(calibration)
    )
    let plan = planner.plan(request)
    var figures = try Reconciliation.PlanFigures.read(
      Data(plan.jsonText().utf8),
      source: "the plan of \(model) on \(topology)"
    )
    if let logged = planner.decodeAsLogged(request, plan: plan, log: log) {
      figures.decodeTokensPerSecond = logged.tokensPerSecond
      figures.decodeContext = logged.context
    }
    return figures
  }

  func run() throws {
    do {
      let planned = try plan.map { path in
        try Reconciliation.PlanFigures.read(Data(TopologyLoader.readFile(path).utf8), source: path)
      }
      let reconciliations = try logs.map { path in
        let log = try EngineLog.read(path: path)
        return Reconciliation(log: log, plan: try figures(for: log, planned: planned))
      }
      if format == .json {
        print(try Self.json(reconciliations), terminator: "")
      } else {
        print(reconciliations.map { $0.tableText() }.joined(separator: "\n"), terminator: "")
      }
      if let writeCalibration {
        let (derived, notes) = Reconciliation.calibration(
          from: reconciliations,
          base: try loadCalibration(calibration),
          source: "shardplan reconcile of " + logs.map { ($0 as NSString).lastPathComponent }.joined(separator: ", ")
        )
        let text = notes.map { "# " + $0 + "\n" }.joined() + derived.yamlText()
        let folder = (writeCalibration as NSString).deletingLastPathComponent
        try EmittedFiles.write(
          [EmittedFile(name: (writeCalibration as NSString).lastPathComponent, contents: text, executable: false)],
          to: folder.isEmpty ? "." : folder
        )
        FileHandle.standardError.write(Data("wrote \(writeCalibration)\n".utf8))
      }
    } catch {
      failWithInputError(error)
    }
  }

  /// `{"schemaVersion": 1, "logs": [{"source", "engine", "skippedLines", "rows": […], "notes"}]}`.
  static func json(_ reconciliations: [Reconciliation]) throws -> String {
    struct Row: Encodable {
      var term: String
      var device: String
      var logDevice: String?
      var predicted: Double?
      var measured: Double
      var relativeError: Double?
      var line: Int
    }
    struct Log: Encodable {
      var source: String
      var engine: String
      var skippedLines: Int
      var rows: [Row]
      var notes: [String]
    }
    struct Form: Encodable {
      var schemaVersion = 1
      var logs: [Log]
    }
    let form = Form(
      logs: reconciliations.map { item in
        Log(
          source: item.log.source,
          engine: item.log.engine.rawValue,
          skippedLines: item.log.skippedLines,
          rows: item.rows.map {
            Row(
              term: $0.term.rawValue,
              device: $0.device,
              logDevice: $0.logDevice,
              predicted: $0.predicted,
              measured: $0.measured,
              relativeError: $0.relativeError,
              line: $0.line
            )
          },
          notes: item.notes
        )
      }
    )
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(form), as: UTF8.self) + "\n"
  }
}
