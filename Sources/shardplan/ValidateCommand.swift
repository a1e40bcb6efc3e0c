import ArgumentParser
import Foundation
import ShardPlan
import ShardPlanHub
import ShardPlanHwloc

extension ValidateCommand {
  /// Reads and validates a layout file with the loaders every command uses (the
  /// Hub from the environment, hwloc); exits with status 2 when it cannot be read.
  static func check(_ path: String, topology: String?) -> LayoutValidator.Report {
    let text: String
    do {
      text = try TopologyLoader.readFile(path)
    } catch {
      failWithInputError(error)
    }
    let validator = LayoutValidator(
      models: ModelLoader(hub: HubClient.fromEnvironment()),
      topologies: TopologyLoader(hwloc: .libhwloc)
    )
    return validator.validate(text, source: path, topology: topology)
  }
}

struct ValidateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "validate",
    abstract: "Check a layout file: every problem with file:line, the per-GPU budget, and the verdict.",
    discussion:
      "Exit status 0 when the layout fits, 1 when it has problems or does not fit, 2 when the file cannot be read or is not a layout (not YAML, no workloads)."
  )

  @Argument(help: "The layout file (YAML).")
  var layout: String

  @Option(help: "Topology, overriding the file's `topology:`.")
  var topology: String?

  @Option(help: "Output format: table, json, or html (a self-contained report page).")
  var format: OutputFormat = .table

  func validate() throws {
    try format.require([.table, .json, .html], for: "validate")
  }

  func run() throws {
    let report = Self.check(layout, topology: topology)
    if format == .json {
      print(try report.jsonText(), terminator: "")
    } else if format == .html {
      print(HTMLReport.validation(report, version: ShardPlanCommand.version), terminator: "")
    } else {
      if report.findings.isEmpty {
        print("\(layout): the layout is consistent")
      } else {
        print("\(layout): \(report.findings.count) problem\(report.findings.count == 1 ? "" : "s"):")
        for finding in report.findings { print("  \(finding)") }
      }
      if let plan = report.plan, !plan.workloads.isEmpty {
        var table = plan
        table.reasons = []
        print("")
        print(table.tableText(colors: TerminalColor.enabled()), terminator: "")
      }
      print("Verdict: \(report.verdict.rawValue)")
    }
    // A file that is not a layout at all (not YAML, no workloads) cannot be read: 2.
    if report.plan == nil, report.findings.contains(where: { $0.code == .syntax }) { throw ExitCode(2) }
    if report.verdict == .doesNotFit { throw ExitCode(1) }
  }
}
