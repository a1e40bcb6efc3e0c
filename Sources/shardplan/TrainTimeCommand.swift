import ArgumentParser
import Foundation
import ShardPlan
import ShardPlanHub
import ShardPlanHwloc

struct TrainTimeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "train-time",
    abstract:
      "Time to train a model on a topology's GPUs (6·N·D FLOPs, 8·N·D with checkpointing, at an MFU), with the memory of the setup assumed.",
    discussion: """
      Also prints a table over GPT-3 shapes (125M, 355M, 1.3B, 2.7B, 6.7B) on one of the topology's cards. \
      --tokens takes a count with an optional K, M, B or T suffix (300B = 3·10^11).
      """
  )

  @Argument(help: "The model (as for `estimate`).")
  var model: String

  @Option(help: "Training tokens (e.g. 20B).")
  var tokens: String

  @Option(help: "Topology: local, a bundled name or a file.")
  var topology: String = "local"

  @Option(help: "Model-FLOPs utilisation, 0–1 (default 0.4, an assumption).")
  var mfu: Double = TrainingTime.defaultMFU

  @Option(help: "Sequence length for the memory check.")
  var context: Int = 2048

  @Option(help: "Output format: table or json.")
  var format: OutputFormat = .table

  static func parseTokens(_ text: String) -> Int64? {
    let suffixes: [Character: Double] = ["K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9, "T": 1e12]
    var body = text.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "_", with: "")
    var factor = 1.0
    if let last = body.last?.uppercased().first, let scale = suffixes[last] {
      factor = scale
      body.removeLast()
    }
    guard let value = Double(body), value > 0, value * factor < 9e18 else { return nil }
    return Int64(value * factor)
  }

  func validate() throws {
    guard Self.parseTokens(tokens) != nil else {
      throw ValidationError("--tokens '\(tokens)' is not a count such as 20B or 300000000")
    }
    guard mfu > 0, mfu <= 1 else { throw ValidationError("--mfu must be above 0 and at most 1") }
    guard context >= 1, context <= 10_000_000 else { throw ValidationError("--context must be from 1 to 10000000") }
    try format.require([.table, .json], for: "train-time")
  }

  func run() throws {
    let graph: DeviceGraph
    let spec: ModelSpec
    do {
      graph = try loadTopologyWithGPUs(topology)
      spec = try ModelLoader(hub: HubClient.fromEnvironment()).load(model)
    } catch {
      failWithInputError(error)
    }
    guard !graph.gpus.isEmpty else {
      failWithInputError(
        InputError(
          .inconsistent,
          source: topology,
          message: "the topology has no GPU",
          fix: "Name a topology with GPUs"
        )
      )
    }
    let count = Self.parseTokens(tokens) ?? 0
    let main: TrainingTime.Estimate
    do {
      main = try TrainingTime.estimate(model: spec, tokens: count, graph: graph, mfu: mfu, sequence: context)
    } catch {
      failWithInputError(error)
    }
    var one = graph
    one.gpus = [graph.gpus[0]]
    var sizes: [TrainingTime.Estimate] = []
    for (name, layers, hidden, heads) in TrainingTime.referenceSizes {
      let reference = try TrainingTime.referenceModel(layers: layers, hidden: hidden, heads: heads, name: name)
      sizes.append(try TrainingTime.estimate(model: reference, tokens: count, graph: one, mfu: mfu, sequence: context))
    }
    if format == .json {
      struct Form: Encodable {
        var schemaVersion = 1
        var estimate: TrainingTime.Estimate
        var oneCardBySize: [TrainingTime.Estimate]
      }
      print(try jsonString(Form(estimate: main, oneCardBySize: sizes)))
      return
    }
    print(
      "Training \(main.model) (\(formatCount(main.activeParameters)) active parameters) on \(formatCount(main.tokens)) tokens"
    )
    print(
      "  on \(main.gpus) × \(main.gpuName) at \(Int(main.mfu * 100))% MFU: \(duration(main.seconds)), \(Units.formatDecimal(main.tokensPerSecond, places: 0)) tokens/s (\(Units.formatDecimal(main.totalFLOPs / 1e21, places: 2)) ZFLOP)"
    )
    print(
      "  step: \(formatCount(main.tokensPerStep)) tokens (micro-batch 1 × \(main.sequence) tokens × \(main.gpus) GPUs) in \(Units.formatDecimal(main.stepSeconds, places: 3)) s"
    )
    print(
      "  memory: \(main.setup): \(Units.formatBytes(main.perGPUBytes)) per GPU of \(Units.formatBytes(main.gpuMemoryBytes)) — \(main.fits ? "fits" : "does not fit")"
    )
    print("\nOn one \(graph.gpus[0].name), GPT-3 shapes (Brown et al. 2020), \(formatCount(count)) tokens:")
    var rows: [[String]] = [["  size", "parameters", "time", "tokens/s", "memory per GPU", "setup"]]
    for size in sizes {
      rows.append([
        "  " + size.model, formatCount(size.parameters), duration(size.seconds),
        Units.formatDecimal(size.tokensPerSecond, places: 0),
        Units.formatBytes(size.perGPUBytes) + (size.fits ? "" : " (does not fit)"),
        size.fits ? size.setup.components(separatedBy: ", micro-batch").first ?? size.setup : "-",
      ])
    }
    print(table(rows), terminator: "")
    print(
      "\nAssumes \(main.flopsPerParameterPerToken) FLOPs per active parameter per token (6, and 2 more with gradient checkpointing) and \(Int(mfu * 100))% of the dense bf16 peak (pass --mfu to change)."
    )
    if !main.fits { throw ExitCode(1) }
  }

  func duration(_ seconds: Double) -> String {
    if seconds < 3600 { return Units.formatDecimal(seconds / 60, places: 1) + " min" }
    if seconds < 86_400 * 2 { return Units.formatDecimal(seconds / 3600, places: 1) + " h" }
    return Units.formatDecimal(seconds / 86_400, places: 1) + " days"
  }
}
