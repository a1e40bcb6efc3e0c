import ArgumentParser
import Foundation
import ShardPlan
import ShardPlanHwloc

@main
struct ShardPlanCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "shardplan",
    abstract: "Plan how large models are sharded and placed on GPUs.",
    discussion: """
      Reads a machine (hwloc, nvidia-smi, NCCL topology, or a topology YAML) into a \
      device graph with a bandwidth for every GPU pair, reads models into exact bytes, \
      plans how to split them for serving or training, and writes the launch files \
      (accelerate, DeepSpeed, device_map, vLLM, SGLang, llama.cpp, torchrun).

      Exit status: 0 success, 1 does not fit / validation failed, 2 bad input.
      """,
    version: ShardPlanCommand.version,
    subcommands: [
      TopologyCommand.self, EstimateCommand.self, PlanCommand.self, ValidateCommand.self, EmitCommand.self,
      TrainTimeCommand.self, ReconcileCommand.self, MeasureCommand.self,
      GPUsCommand.self,
      ModelsCommand.self,
    ]
  )

  /// The tool's version, as `--version` prints it and reports name it.
  static let version = "0.1.0"

  /// Runs the tool. Usage errors exit with status 2, like every other bad input
  /// (argument-parser's own default would be 64).
  static func main() {
    do {
      var command = try parseAsRoot()
      try command.run()
    } catch {
      if exitCode(for: error) == .validationFailure {
        FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
        Foundation.exit(2)
      }
      exit(withError: error)
    }
  }
}

/// Prints an input error the way every subcommand does, and exits with status 2.
func failWithInputError(_ error: Error) -> Never {
  let message: String
  switch error {
  case let error as InputError: message = error.description
  case let error as HwlocError: message = error.description
  default: message = "\(error)"
  }
  // Asked for JSON, a tool reads the error as JSON on stdout (the status is still 2).
  let arguments = CommandLine.arguments
  let json =
    arguments.contains("--format=json")
    || zip(arguments, arguments.dropFirst()).contains { $0 == "--format" && $1 == "json" }
  if json {
    struct Form: Encodable {
      var schemaVersion = 1
      var error: Detail
      struct Detail: Encodable {
        var code: String
        var source: String
        var line: Int?
        var field: String?
        var message: String
        var expected: String?
        var fix: String?
      }
    }
    let detail: Form.Detail
    if let input = error as? InputError {
      detail = .init(
        code: input.code.description,
        source: input.source,
        line: input.line,
        field: input.field,
        message: input.message,
        expected: input.expected,
        fix: input.fix
      )
    } else {
      detail = .init(code: "unreadable", source: "", message: message)
    }
    if let text = try? jsonString(Form(error: detail)) { print(text) }
  } else {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
  }
  exit(2)
}

/// Stable, pretty JSON of a value (sorted keys, slashes unescaped).
func jsonString(_ value: some Encodable) throws -> String {
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
  return String(decoding: try encoder.encode(value), as: UTF8.self)
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
  case table, json, yaml, dot, html

  /// Refuses a format the command does not write.
  func require(_ allowed: [OutputFormat], for command: String) throws {
    guard !allowed.contains(self) else { return }
    let names = allowed.map(\.rawValue)
    throw ValidationError(
      "--format for \(command) is \(names.dropLast().joined(separator: ", ")) or \(names.last ?? "table")"
    )
  }
}

struct TopologyCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "topology",
    abstract: "Read a machine into a device graph and show its GPUs and links.",
    discussion: """
      SOURCE is `local` (hwloc and nvidia-smi on this machine; the default), the name \
      of a bundled topology (see --list), or files recognised by their content: \
      nvidia-smi outputs (topo -m, topo -p2p, --query-gpu CSV, -q, -q -x, -L, \
      nvlink -s; several may be pasted into one file), an hwloc XML export, an NCCL \
      topology XML, or a topology YAML. Several files of one machine are merged; \
      disagreements between them are listed as conflicts.
      """
  )

  @Argument(help: "Sources: local, a bundled topology name, or files.")
  var sources: [String] = []

  @Option(help: "Output format: table, json, yaml, dot or html (a self-contained report page).")
  var format: OutputFormat = .table

  @Option(help: "GPU model for GPUs the sources do not name (a catalog id, see `shardplan gpus`).")
  var gpu: String?

  @Option(help: "Field list of a --query-gpu CSV captured with noheader, in order (comma-separated).")
  var queryFields: String?

  @Flag(help: "List the bundled topologies and exit.")
  var list = false

  func validate() throws {
    if let gpu, GPUCatalog.spec(named: gpu) == nil {
      throw ValidationError(
        "unknown GPU model '\(gpu)'; known: \(GPUCatalog.all.map(\.id).joined(separator: ", "))"
      )
    }
  }

  func run() throws {
    if list {
      for name in BundledTopologies.names {
        let description = (try? TopologyFile.read(BundledTopologies.text(named: name) ?? "", source: name))?.description
        print("\(name)\(description.map { "  \($0)" } ?? "")")
      }
      return
    }
    let loader = TopologyLoader(
      hwloc: .libhwloc,
      queryFields: queryFields?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) },
      assumedGPUModel: gpu.flatMap(GPUCatalog.spec(named:))
    )
    let graph: DeviceGraph
    do {
      graph = try loader.load(sources)
    } catch {
      failWithInputError(error)
    }
    switch format {
    case .table: print(graph.tableText(), terminator: "")
    case .json: print(try graph.jsonText(), terminator: "")
    case .yaml: print(graph.topologyYAMLText(), terminator: "")
    case .dot: print(graph.dotText(), terminator: "")
    case .html: print(HTMLReport.topology(graph, version: ShardPlanCommand.version), terminator: "")
    }
  }
}

struct GPUsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "gpus",
    abstract: "List the GPU catalog: memory, bandwidth, dense TFLOP/s, NVLink, PCIe."
  )

  @Option(help: "Output format: table or json.")
  var format: OutputFormat = .table

  func validate() throws {
    try format.require([.table, .json], for: "gpus")
  }

  func run() throws {
    if format == .json {
      struct Form: Encodable {
        var schemaVersion = 1
        var gpus: [GPUSpec]
      }
      print(try jsonString(Form(gpus: GPUCatalog.all)))
      return
    }
    var rows: [[String]] = [["ID", "Memory", "Bandwidth", "BF16 TFLOPS", "FP8", "NVLink", "PCIe", "CC"]]
    for spec in GPUCatalog.all {
      rows.append([
        spec.id, Units.formatBytes(spec.memoryBytes), Units.formatRate(spec.memoryBandwidthBytesPerSecond),
        spec.tflops.bf16.map { Units.formatDecimal($0, places: 1) } ?? "-",
        spec.tflops.fp8.map { Units.formatDecimal($0, places: 1) } ?? "-",
        spec.nvlink.map { "gen\($0.generation) × \($0.links)\($0.bridgeOnly ? " bridge" : "")" } ?? "-",
        "Gen\(spec.pcieGeneration)", spec.computeCapability,
      ])
    }
    var widths = [Int](repeating: 0, count: rows[0].count)
    for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
    for row in rows {
      print(
        row.enumerated().map { $1.padding(toLength: widths[$0] + 2, withPad: " ", startingAt: 0) }.joined()
          .trimmingCharacters(in: .whitespaces)
      )
    }
  }
}
