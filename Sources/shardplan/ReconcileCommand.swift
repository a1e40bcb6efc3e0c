import ArgumentParser
import Foundation
import ShardPlan

struct ReconcileCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "reconcile",
    abstract: "Set an engine's own log beside a plan: each term it measured, predicted and measured, and the error.",
    discussion: """
      Reads the start-up and run logs vLLM, SGLang, llama.cpp (llama-server) and Ollama
      print — model weights, KV cache, compute buffers or activations, overheads, CUDA
      graphs, GPU layers, context and tokens/s, per GPU where the log says — and, with
      --plan, the prediction of `shardplan plan … --format json` for the same GPUs.
      Error is (predicted − measured) / measured. Exit status 0 when read, 2 when the
      log has nothing an engine prints or the plan cannot be read.
      """
  )

  @Argument(help: "Engine logs (each read as a stream; lines of other programs are skipped and counted).")
  var logs: [String]

  @Option(help: "The plan to hold the logs to: the JSON of `shardplan plan … --format json`.")
  var plan: String?

  @Option(help: "Output format: table or json.")
  var format: OutputFormat = .table

  func validate() throws {
    if format == .yaml || format == .dot { throw ValidationError("--format for reconcile is table or json") }
    if logs.isEmpty { throw ValidationError("give at least one log") }
  }

  func run() throws {
    do {
      let figures = try plan.map { path in
        try Reconciliation.PlanFigures.read(Data(TopologyLoader.readFile(path).utf8), source: path)
      }
      let reconciliations = try logs.map { Reconciliation(log: try EngineLog.read(path: $0), plan: figures) }
      if format == .json {
        print(try Self.json(reconciliations), terminator: "")
      } else {
        print(reconciliations.map { $0.tableText() }.joined(separator: "\n"), terminator: "")
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
